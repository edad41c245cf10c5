"""The SQL the pipeline sends on its hot path, built as ``(sql, parameters)`` so each statement is pinned
by an exact-SQL unit test (tests/unit/sinks/test_queries.py) and parameters are always bound, never pasted.

Two binding styles, as clickhouse-connect offers them: ``%(name)s`` is formatted by the client, and
``{name:Type}`` is sent to the server as a typed parameter. The dedupe look-up binds its arrays
server-side from `StringArray`, whose text we escape ourselves with `str.replace` (the library's escaping
runs a generator per character, 3 % of the worker for 20k ids per flush; bench notes, issue 7).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from omnimeter.pricing.rating import BillableLine
from omnimeter.sinks.tables import BILLABLE_LINES, RAW_EVENTS

Query = tuple[str, dict[str, Any]]

_BS = "\\"
_ESCAPED = ("'", "`", "\t", "\n")  # with the backslash: clickhouse-connect's `must_escape`


def escape(value: str) -> str:
    """A string's text inside single quotes, escaped as clickhouse-connect escapes it."""
    if _BS in value:
        value = value.replace(_BS, _BS + _BS)  # first: the other replacements add backslashes
    for ch in _ESCAPED:
        if ch in value:
            value = value.replace(ch, _BS + ch)
    return value


class StringArray:
    """An ``Array(String)`` parameter, formatted once by `escape`. clickhouse-connect binds objects it
    does not know by their ``str()``, so the text goes to the server as written here."""

    __slots__ = ("text", "values")

    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(values)  # for the shared store's wire format (sinks/shared.py)
        self.text = "[" + ", ".join(f"'{escape(v)}'" for v in self.values) + "]"

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StringArray) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"StringArray({self.text[:60]})"


def recorded_positions(db: str, table: str, topic: str, partition: int, from_offset: int) -> Query:
    return (
        f"SELECT kafka_offset, batch_index FROM {db}.{table} "
        "WHERE kafka_topic = %(t)s AND kafka_partition = %(p)s AND kafka_offset >= %(o)s",
        {"t": topic, "p": partition, "o": from_offset},
    )


def stored_keys(db: str, keys: Sequence[tuple[str, str, str]], since: datetime) -> Query:
    """Candidates for `keys` in raw_events (tenant and id match; the caller keeps exact triples)."""
    return (
        f"SELECT tenant_id, source, event_id FROM {db}.{RAW_EVENTS.name} "
        "WHERE tenant_id IN {t:Array(String)} AND event_id IN {e:Array(String)} "
        "AND ingested_at >= {s:DateTime64(3, 'UTC')}",
        {"t": StringArray(sorted({k[0] for k in keys})), "e": StringArray(k[2] for k in keys), "s": since},
    )


def cycle_usage(db: str, tenant: str, cycle: date) -> Query:
    return (
        "SELECT meter, sumIf(quantity, free_reason = ''), sumIf(quantity_platform, free_reason_platform = '') "
        f"FROM {db}.{BILLABLE_LINES.name} WHERE tenant_id = %(t)s AND cycle_start = %(c)s "
        "GROUP BY meter",
        {"t": tenant, "c": cycle},
    )  # reversals of WhatsApp decisions carry negative quantities: they count too


def window_decisions(db: str, keys: Sequence[tuple[str, str, str]], since: datetime) -> Query:
    """Lines decided by WhatsApp windows of the conversations `keys` (tenant, account, contact), delivered
    at or after `since` (candidates: the caller keeps the exact triples)."""
    return (
        f"SELECT {', '.join(BillableLine._fields)} FROM {db}.{BILLABLE_LINES.name} "
        "WHERE tenant_id IN {t:Array(String)} AND conversation IN {c:Array(String)} "
        "AND event_time >= {s:DateTime64(3, 'UTC')}",
        {"t": StringArray(sorted({k[0] for k in keys})), "c": StringArray(sorted({k[2] for k in keys})), "s": since},
    )


def cycle_seats(db: str, tenant: str, cycle: date) -> Query:
    return (
        f"SELECT DISTINCT meter, user_id FROM {db}.{BILLABLE_LINES.name} WHERE tenant_id = %(t)s "
        "AND cycle_start = %(c)s AND startsWith(meter, 'seats.active.')",
        {"t": tenant, "c": cycle},
    )
