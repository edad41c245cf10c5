"""The tables the pipeline writes, each with its columns in insert order and its partition key, beside the
migrations that create them (sinks/migrations/). A test checks every tuple and key against the migrated
engine's.

ClickHouse refuses one insert block spanning more than `max_partitions_per_insert_block` (100) partitions,
so a block is inserted as one part per partition (`Table.parts`), each with its own deduplication token
(the block's token and the partition): a retried part is deduplicated by the engine on its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from omnimeter.pricing.rating import CORRECTION_STEP, BillableLine
from omnimeter.sinks.base import TableRows

SOURCE_COLUMNS = ("kafka_topic", "kafka_partition", "kafka_offset", "batch_index")


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    month_of: str = ""  # PARTITION BY toYYYYMM(this column); "" when the table is not partitioned

    def block(self, rows: Sequence[Sequence[Any]], token: str) -> TableRows:
        """`rows` (each in `columns` order) as one insert block with its deduplication token."""
        return TableRows(self.name, self.columns, rows if isinstance(rows, list) else list(rows), token)

    @property
    def partition_key(self) -> str:
        return f"toYYYYMM({self.month_of})" if self.month_of else ""

    def parts(self, block: TableRows) -> list[TableRows]:
        """`block` as one block per partition, in order of first appearance, each with the token
        ``<block token>:<partition>`` (the same rows always give the same parts and tokens)."""
        if not self.month_of or not block.rows:
            return [block]
        at = self.columns.index(self.month_of)
        parts: dict[int, list[Sequence[Any]]] = {}
        for row in block.rows:
            parts.setdefault(yyyymm(row[at]), []).append(row)
        return [TableRows(self.name, self.columns, rows, f"{block.token}:{m}") for m, rows in parts.items()]

    def index(self, column: str) -> int:
        return self.columns.index(column)


def yyyymm(value: date) -> int:
    """ClickHouse's toYYYYMM of a Date, or of a DateTime64 in the UTC zone the tables use."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.year * 100 + value.month


RAW_EVENTS = Table(
    "raw_events",
    ("tenant_id", "source", "event_id", "type", "event_time", "specversion", "datacontenttype", "channel", "data",
     "extensions", *SOURCE_COLUMNS, "ingested_at"),
    "event_time",
)  # fmt: skip
REJECTED_EVENTS = Table(
    "rejected_events",
    ("tenant_id", "event_id", "reason", "field", "detail", "raw", *SOURCE_COLUMNS, "rejected_at"),
    "rejected_at",
)
DUPLICATE_EVENTS = Table(
    "duplicate_events",
    ("tenant_id", "source", "event_id", "type", "event_time", *SOURCE_COLUMNS, "seen_at"),
    "seen_at",
)
# A line's row: the line's own fields, then where its event was read from and when it was rated.
# billable_lines rows that count as lines in effect: a corrected WhatsApp decision counts once (its
# reversal -1, its corrected line +1), so line counts do not grow with corrections.
REVERSAL = f"(corrects_line_id != '' AND modulo(intDiv(line_index, {CORRECTION_STEP}), 2) = 1)"  # rating.is_reversal
LINES_IN_EFFECT = f"sum(if({REVERSAL}, -1, 1))"
BILLABLE_LINES = Table("billable_lines", (*BillableLine._fields, *SOURCE_COLUMNS, "rated_at"), "event_time")
ALERTS = Table(
    "alerts",
    ("alert_id", "type", "tenant_id", "reseller_id", "subject", "threshold", "observed", "currency", "period_start",
     "period_end", "message", "evidence", "raised_at", "version"),
    "period_start",
)  # fmt: skip
REFERENCE_VERSIONS = Table("reference_versions", ("kind", "version", "applied_at", "source"))
DIM_ENTITIES = Table(
    "dim_entities", ("kind", "tenant_id", "id", "name", "parent", "attributes", "version", "applied_at")
)

# Every consumed record position ends in exactly one of these (stored, dead-lettered, duplicate).
OUTCOME_TABLES = (RAW_EVENTS.name, REJECTED_EVENTS.name, DUPLICATE_EVENTS.name)
BY_NAME = {t.name: t for t in (RAW_EVENTS, REJECTED_EVENTS, DUPLICATE_EVENTS, BILLABLE_LINES)}
WRITTEN = (RAW_EVENTS, REJECTED_EVENTS, DUPLICATE_EVENTS, BILLABLE_LINES, REFERENCE_VERSIONS, DIM_ENTITIES, ALERTS)
