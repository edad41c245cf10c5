"""`omnimeter reconcile`: check that every consumed record is accounted for exactly once, and that the
rated lines and the rollups agree with what is stored. Prints every difference; exit code 1 if any.

Checks (events and lines by event time within [from, to) when given; Kafka over whole partitions):
1. Kafka: every offset below the group's committed offset has an outcome in raw_events, rejected_events
   or duplicate_events (outcomes ahead of the commit are normal while a worker runs).
2. raw_events: no (tenant, source, id) stored twice; no source position stored twice.
3. billable_lines: no line stored twice; no line without its event; no rateable event of a known tenant
   without lines (a repeated seat.active in a cycle rightly has none).
4. Rollups: minute, hour and day sums per tenant and meter equal the lines'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omnimeter.sinks.clickhouse import ClickHouseStore
from omnimeter.sinks.tables import LINES_IN_EFFECT
from omnimeter.streams.kafka_admin import group_lag
from omnimeter.streams.kafka_clients import Kafka

OUTCOME_TABLES = ("raw_events", "rejected_events", "duplicate_events")


@dataclass(frozen=True)
class Difference:
    check: str
    detail: str


def _range(column: str, start: datetime | None, end: datetime | None) -> str:
    parts = []
    if start is not None:
        parts.append(f"{column} >= %(start)s")
    if end is not None:
        parts.append(f"{column} < %(end)s")
    return " AND ".join(parts) or "1"


def kafka_offsets(store: ClickHouseStore, kafka: Kafka, group: str, topic: str) -> list[Difference]:
    out: list[Difference] = []
    db = store.db
    for p in group_lag(kafka, group, topic):
        committed, low = p.committed, 0
        if committed <= low:
            continue
        union = " UNION ALL ".join(
            f"SELECT DISTINCT kafka_offset FROM {db}.{t} WHERE kafka_topic = %(t)s AND kafka_partition = %(p)s "
            "AND kafka_offset >= %(lo)s AND kafka_offset < %(hi)s"
            for t in OUTCOME_TABLES
        )
        (n,) = store.query_rows(
            f"SELECT uniqExact(kafka_offset) FROM ({union})", {"t": topic, "p": p.partition, "lo": low, "hi": committed}
        )[0]
        if n != committed - low:
            missing = store.query_rows(
                f"SELECT number + %(lo)s AS o FROM numbers(%(n)s) WHERE o NOT IN (SELECT kafka_offset FROM ({union})) "
                "ORDER BY o LIMIT 20",
                {"t": topic, "p": p.partition, "lo": low, "hi": committed, "n": committed - low},
            )
            out.append(
                Difference(
                    "kafka",
                    f"{topic}[{p.partition}]: {committed - low - n} of offsets {low}..{committed - 1} (committed) have "
                    f"no stored outcome, e.g. {[o for (o,) in missing]}",
                )
            )
    return out


def stored_once(store: ClickHouseStore, start: datetime | None, end: datetime | None) -> list[Difference]:
    db, p = store.db, {"start": start, "end": end}
    out = []
    for tenant, source, event_id, n in store.query_rows(
        f"SELECT tenant_id, source, event_id, count() AS n FROM {db}.raw_events "
        f"WHERE {_range('event_time', start, end)} GROUP BY tenant_id, source, event_id "
        "HAVING n > 1 ORDER BY n DESC LIMIT 20",
        p,
    ):
        out.append(Difference("raw_events", f"event {tenant}/{source}/{event_id} stored {n} times"))
    for tenant, source, event_id, index, n in store.query_rows(
        f"SELECT tenant_id, event_source, event_id, line_index, count() AS n FROM {db}.billable_lines "
        f"WHERE {_range('event_time', start, end)} GROUP BY tenant_id, event_source, event_id, line_index "
        "HAVING n > 1 ORDER BY n DESC LIMIT 20",
        p,
    ):
        out.append(Difference("billable_lines", f"line {index} of {tenant}/{source}/{event_id} stored {n} times"))
    for tenant, source, event_id in store.query_rows(
        f"SELECT tenant_id, event_source, event_id FROM {db}.billable_lines WHERE {_range('event_time', start, end)} "
        f"AND (tenant_id, event_source, event_id) NOT IN (SELECT tenant_id, source, event_id FROM {db}.raw_events) "
        "LIMIT 20",
        p,
    ):
        out.append(Difference("billable_lines", f"line of {tenant}/{source}/{event_id} has no stored event"))
    return out


def unrated(
    store: ClickHouseStore, tenants: Sequence[str], start: datetime | None, end: datetime | None
) -> list[Difference]:
    if not tenants:
        return []
    db = store.db
    rows = store.query_rows(
        f"SELECT tenant_id, source, event_id, type FROM {db}.raw_events WHERE {_range('event_time', start, end)} "
        "AND tenant_id IN %(ts)s AND type != 'seat.active' "
        f"AND (tenant_id, source, event_id) NOT IN (SELECT tenant_id, event_source, event_id FROM {db}.billable_lines) "
        "LIMIT 20",
        {"start": start, "end": end, "ts": list(tenants)},
    )
    return [Difference("billable_lines", f"event {t}/{s}/{e} ({ty}) has no billable lines") for t, s, e, ty in rows]


def rollups(store: ClickHouseStore, start: datetime | None, end: datetime | None) -> list[Difference]:
    db, p = store.db, {"start": start, "end": end}
    sums = "sum(quantity), sum(amount_platform), sum(amount_reseller)"
    lines = {
        (t, m): (n, q, a, r)
        for t, m, n, q, a, r in store.query_rows(
            f"SELECT tenant_id, meter, {LINES_IN_EFFECT}, {sums} FROM {db}.billable_lines "
            f"WHERE {_range('event_time', start, end)} GROUP BY tenant_id, meter",
            p,
        )
    }
    out = []
    for table, column in (("rollup_minute", "bucket"), ("rollup_hour", "bucket"), ("rollup_day", None)):
        where = _range(column, start, end) if column else "1"
        got: dict[tuple[Any, ...], tuple[Any, ...]] = {
            (t, m): (n, q, a, r)
            for t, m, n, q, a, r in store.query_rows(
                f"SELECT tenant_id, meter, sum(lines), {sums} FROM {db}.{table} FINAL WHERE {where} "
                "GROUP BY tenant_id, meter",
                p,
            )
        }
        want = lines
        if column is None and (start is not None or end is not None):
            want = {
                (t, m): (n, q, a, r)
                for t, m, n, q, a, r in store.query_rows(
                    f"SELECT tenant_id, meter, {LINES_IN_EFFECT}, {sums} FROM {db}.billable_lines "
                    "GROUP BY tenant_id, meter"
                )
            }
        for key in sorted(set(want) | set(got)):
            if want.get(key) != got.get(key):
                out.append(
                    Difference(
                        table,
                        f"{key[0]} {key[1]}: lines (count, quantity, platform, reseller) {want.get(key)} "
                        f"!= {table} {got.get(key)}",
                    )
                )
    return out


def reconcile(
    store: ClickHouseStore,
    tenants: Sequence[str],
    start: datetime | None = None,
    end: datetime | None = None,
    kafka: tuple[Kafka, str, str] | None = None,
) -> list[Difference]:
    """`kafka` = (settings or bootstrap, group, topic) to check offsets too."""
    out = kafka_offsets(store, *kafka) if kafka else []
    out += stored_once(store, start, end)
    out += unrated(store, tenants, start, end)
    out += rollups(store, start, end)
    return out
