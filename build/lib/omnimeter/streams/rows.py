"""Step 5 of a flush: the rows of each table, built from outcomes, in the column order of sinks/tables.py."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from omnimeter.pricing.rating import BillableLine
from omnimeter.schemas.events import UsageEvent
from omnimeter.schemas.parse import Rejection
from omnimeter.streams.records import ConsumedRecord


def _json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def raw_row(event: UsageEvent, rec: ConsumedRecord, index: int, now: datetime) -> Sequence[Any]:
    return (
        event.subject,
        event.source,
        event.id,
        event.type,
        event.time,
        event.specversion,
        event.datacontenttype,
        event.channel,
        event.data.model_dump_json(exclude_unset=True),  # pydantic's own encoder: fields in declared order
        _json(event.model_extra) if event.model_extra else "{}",  # CloudEvents extension attributes
        rec.topic,
        rec.partition,
        rec.offset,
        index,
        now,
    )


def duplicate_row(event: UsageEvent, rec: ConsumedRecord, index: int, now: datetime) -> Sequence[Any]:
    return (
        event.subject,
        event.source,
        event.id,
        event.type,
        event.time,
        rec.topic,
        rec.partition,
        rec.offset,
        index,
        now,
    )


def rejected_row(rej: Rejection, rec: ConsumedRecord, now: datetime) -> Sequence[Any]:
    tenant = ""
    if rej.raw[:1] == b"{":
        try:
            doc = json.loads(rej.raw)
            if isinstance(doc, dict) and isinstance(doc.get("subject"), str):
                tenant = doc["subject"][:256]
        except (ValueError, RecursionError):  # not JSON, or nested too deep to read (hostile input)
            pass
    return (
        tenant,
        rej.event_id,
        rej.reason.value,
        rej.field,
        rej.detail[:1000],
        rej.raw,
        rec.topic,
        rec.partition,
        rec.offset,
        rej.index,
        now,
    )


def line_row(ln: BillableLine, rec: ConsumedRecord, index: int, now: datetime) -> tuple[Any, ...]:
    """A billable line, then where its event was read from and when it was rated."""
    return (*ln, rec.topic, rec.partition, rec.offset, index, now)
