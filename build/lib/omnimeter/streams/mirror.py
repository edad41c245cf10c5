"""Mirror applied reference data into ClickHouse for reports and analysts (reference_versions,
dim_entities). Written by the worker, which owns the store, once per newly applied version."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from omnimeter.sinks.base import Store
from omnimeter.sinks.tables import DIM_ENTITIES, REFERENCE_VERSIONS
from omnimeter.streams.reference import ReferenceData

ENTITY_KINDS = {
    "resellers": "reseller",
    "tenants": "tenant",
    "billing_units": "billing_unit",
    "users": "user",
    "accounts": "account",
    "teams": "team",
    "queues": "queue",
    "bots": "bot",
}
PARENT = {
    "tenant": "reseller",
    "account": "billing_unit",
    "user": "role",
    "team": "billing_unit",
    "queue": "billing_unit",
    "bot": "billing_unit",
}


def entity_rows(doc: dict[str, Any], version: str, at: datetime) -> list[tuple[Any, ...]]:
    rows = []
    for section, kind in ENTITY_KINDS.items():
        for item in doc.get(section) or []:
            tenant = item.get("tenant", item["id"] if kind == "tenant" else "")
            parent = item.get(PARENT.get(kind, ""), "") or ""
            rows.append(
                (
                    kind,
                    tenant,
                    item["id"],
                    item.get("name", ""),
                    str(parent),
                    json.dumps(item, sort_keys=True, default=str),
                    version,
                    at,
                )
            )
    return rows


class ReferenceMirror:
    """Writes each newly applied version once per process; the tokens make a repeat after a restart a no-op."""

    def __init__(self, store: Store, reference: ReferenceData) -> None:
        self.store = store
        self.reference = reference
        self._done: set[tuple[str, str]] = set()

    async def sync(self) -> None:
        for kind in ("directory", "prices"):
            applied = self.reference.applied(kind)
            if applied is None or (kind, applied.version) in self._done:
                continue
            at = datetime.now(UTC)
            blocks = [
                REFERENCE_VERSIONS.block([(kind, applied.version, at, applied.text)], f"ref:{kind}:{applied.version}")
            ]
            if kind == "directory":
                doc = applied.value.model_dump(mode="json")  # type: ignore[attr-defined]
                blocks.append(DIM_ENTITIES.block(entity_rows(doc, applied.version, at), f"dim:{applied.version}"))
            await asyncio.to_thread(self.store.write, blocks)
            self._done.add((kind, applied.version))
