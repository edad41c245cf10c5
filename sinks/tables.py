"""The tables the pipeline writes, each with its columns in insert order, beside the migrations that
create them (sinks/migrations/). A test checks every tuple against the migrated engine's columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omnimeter.pricing.rating import BillableLine
from omnimeter.sinks.base import TableRows

SOURCE_COLUMNS = ("kafka_topic", "kafka_partition", "kafka_offset", "batch_index")


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]

    def block(self, rows: Sequence[Sequence[Any]], token: str) -> TableRows:
        """`rows` (each in `columns` order) as one insert block with its deduplication token."""
        return TableRows(self.name, self.columns, rows if isinstance(rows, list) else list(rows), token)

    def index(self, column: str) -> int:
        return self.columns.index(column)


RAW_EVENTS = Table(
    "raw_events",
    ("tenant_id", "source", "event_id", "type", "event_time", "specversion", "datacontenttype", "channel", "data",
     "extensions", *SOURCE_COLUMNS, "ingested_at"),
)  # fmt: skip
REJECTED_EVENTS = Table(
    "rejected_events",
    ("tenant_id", "event_id", "reason", "field", "detail", "raw", *SOURCE_COLUMNS, "rejected_at"),
)
DUPLICATE_EVENTS = Table(
    "duplicate_events",
    ("tenant_id", "source", "event_id", "type", "event_time", *SOURCE_COLUMNS, "seen_at"),
)
# A line's row: the line's own fields, then where its event was read from and when it was rated.
BILLABLE_LINES = Table("billable_lines", (*BillableLine._fields, *SOURCE_COLUMNS, "rated_at"))
REFERENCE_VERSIONS = Table("reference_versions", ("kind", "version", "applied_at", "source"))
DIM_ENTITIES = Table(
    "dim_entities", ("kind", "tenant_id", "id", "name", "parent", "attributes", "version", "applied_at")
)

# Every consumed record position ends in exactly one of these (stored, dead-lettered, duplicate).
OUTCOME_TABLES = (RAW_EVENTS.name, REJECTED_EVENTS.name, DUPLICATE_EVENTS.name)
WRITTEN = (RAW_EVENTS, REJECTED_EVENTS, DUPLICATE_EVENTS, BILLABLE_LINES, REFERENCE_VERSIONS, DIM_ENTITIES)
