"""Step 5 of a flush, before and during the insert: an event whose rows cannot be stored is quarantined
(`store_refused`: a rejected_events row and a dead letter, with the column and the reason), so one row
never blocks its batch.

* Before anything is published or inserted, every row is checked against the column types the engine
  reports (sinks/columns.py). An event with a row that does not fit (raw, line or duplicate row) has all
  its rows withdrawn and is rejected instead. A rejected row that does not fit is made to fit (strings
  that cannot be encoded are escaped).
* A part the engine still refuses (the flush retries it `refused_tries` times) is split in halves by event
  until the refused event stands alone; that event is quarantined and withdrawn from the parts not yet
  inserted. Its rows in parts already stored stay (its lines, when its raw row is the one refused: the
  checker makes this a case it does not know of; `omnimeter reconcile` reports such lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from omnimeter.schemas.parse import Accepted, Rejection, RejectReason
from omnimeter.sinks.base import TableRows
from omnimeter.sinks.columns import RowChecker
from omnimeter.sinks.tables import BILLABLE_LINES, BY_NAME, DUPLICATE_EVENTS, RAW_EVENTS, REJECTED_EVENTS, Table
from omnimeter.streams.deadletter import event_rejection
from omnimeter.streams.records import ConsumedRecord
from omnimeter.streams.rows import rejected_row

Where = tuple[str, int, int, int]  # (topic, partition, offset, index in the record)


def where(table: Table, row: Sequence[Any]) -> Where:
    t, p, o, i = _SOURCE[table.name]
    return (row[t], row[p], row[o], row[i])


def groups(table: Table, rows: Sequence[Sequence[Any]]) -> list[list[Sequence[Any]]]:
    """`rows` grouped by the event they belong to, in order (one event's lines stay together)."""
    out: dict[Where, list[Sequence[Any]]] = {}
    for row in rows:
        out.setdefault(where(table, row), []).append(row)
    return list(out.values())


def without(part: TableRows, gone: set[Where]) -> TableRows:
    table = BY_NAME[part.table]
    return TableRows(part.table, part.columns, [r for r in part.rows if where(table, r) not in gone], part.token)


def refused(batch: Sequence[ConsumedRecord], refusals: dict[Where, str]) -> list[tuple[ConsumedRecord, Rejection]]:
    """The `store_refused` rejections of events at `refusals` (position -> why)."""
    out = []
    for rec in batch:
        for o in rec.outcomes:
            why = refusals.get((rec.topic, rec.partition, rec.offset, o.index))
            if why is None:
                continue
            column = why.split(":", 1)[0] if ":" in why else ""
            if isinstance(o, Accepted):
                out.append((rec, event_rejection(RejectReason.STORE_REFUSED, column, why, o.event, o.index, rec)))
            else:
                detail = f"{why} (was {o.reason.value}: {o.detail})"[:1000]
                out.append((rec, Rejection(RejectReason.STORE_REFUSED, column, detail, o.event_id, o.index, o.raw)))
    return out


def check_rows(
    types: dict[str, dict[str, str]], raw: list[Sequence[Any]], lines: list[Sequence[Any]],
    duplicates: list[Sequence[Any]], rejected: list[Sequence[Any]],
) -> tuple[dict[Where, str], list[Sequence[Any]]]:  # fmt: skip
    """Positions of events with a raw, line or duplicate row that does not fit (-> why), and the rejected
    rows made to fit."""
    bad: dict[Where, str] = {}
    for table, rows in ((RAW_EVENTS, raw), (BILLABLE_LINES, lines), (DUPLICATE_EVENTS, duplicates)):
        checker = RowChecker(table.columns, types.get(table.name, {}))
        for i, why in checker.problems(rows).items():
            bad.setdefault(where(table, rows[i]), why)
    checker = RowChecker(REJECTED_EVENTS.columns, types.get(REJECTED_EVENTS.name, {}))
    fitted = [_fit(row) if checker.problem(row) else row for row in rejected]
    return bad, fitted


def _fit(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(v.encode("utf-8", "backslashreplace").decode() if isinstance(v, str) else v for v in row)


def withdraw(rows: list[Sequence[Any]], table: Table, gone: set[Where]) -> list[Sequence[Any]]:
    return [r for r in rows if where(table, r) not in gone] if gone else rows


def rejected_rows(rejections: Sequence[tuple[ConsumedRecord, Rejection]], now: datetime) -> list[Sequence[Any]]:
    return [_fit(rejected_row(rej, rec, now)) for rec, rej in rejections]


_SOURCE = {
    t.name: tuple(t.index(c) for c in ("kafka_topic", "kafka_partition", "kafka_offset", "batch_index"))
    for t in BY_NAME.values()
}
