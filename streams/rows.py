"""Rows of the ingest tables, built from parsed outcomes. Column order matches sinks/migrations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from schemas.events import UsageEvent
from schemas.parse import Rejection
from streams.records import ConsumedRecord

RAW_COLUMNS = (
    "tenant_id",
    "source",
    "event_id",
    "type",
    "event_time",
    "specversion",
    "datacontenttype",
    "channel",
    "data",
    "extensions",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "batch_index",
    "ingested_at",
)
REJECTED_COLUMNS = (
    "tenant_id",
    "event_id",
    "reason",
    "field",
    "detail",
    "raw",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "batch_index",
    "rejected_at",
)
DUPLICATE_COLUMNS = (
    "tenant_id",
    "source",
    "event_id",
    "type",
    "event_time",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "batch_index",
    "seen_at",
)


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
