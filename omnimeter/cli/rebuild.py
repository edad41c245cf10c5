"""`omnimeter rebuild --from --to [--price-book VERSION]`: re-rate stored events and recompute the rollups.

Raw events are the source of truth. A rebuild works on whole billing cycles (tiers, commitments and seats
count per cycle): for every tenant it takes the cycles that overlap [from, to), rates that tenant's raw
events of those cycles from empty state in event-time order (events of the 96 h before only open WhatsApp
windows), replaces the tenant's billable lines of those cycles and recomputes its rollups. The result does
not depend on the order events arrived in, so repeating a rebuild gives identical lines and totals.

Run it with the workers stopped (with the embedded chdb store it has to be: one process per store), or
for closed cycles only: a worker rating into the same cycles meanwhile would race with the replacement.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

from omnimeter.pricing import whatsapp
from omnimeter.pricing.cycles import cycle_of
from omnimeter.pricing.rating import MemoryState, Rater
from omnimeter.reports.reference import Reference, load_reference
from omnimeter.schemas.directory import Tenant
from omnimeter.schemas.events import USAGE_EVENT, UsageEvent
from omnimeter.sinks.clickhouse import ClickHouseStore
from omnimeter.sinks.rollups import Rollups
from omnimeter.sinks.tables import BILLABLE_LINES
from omnimeter.streams.records import ConsumedRecord
from omnimeter.streams.rows import line_row

WINDOW_LOOKBACK = whatsapp.DECISION_SPAN  # how far back a WhatsApp decision looks (an answer within 24 h, then 72 h)
_RAW = "specversion, event_id, source, type, event_time, tenant_id, datacontenttype, data, extensions"
_POS = "kafka_topic, kafka_partition, kafka_offset, batch_index"
_INSERT_CHUNK = 50_000


@dataclass(frozen=True)
class Rebuilt:
    tenant: str
    start: datetime
    end: datetime
    events: int
    lines_before: int
    lines_after: int
    platform_before: Decimal
    platform_after: Decimal
    reseller_before: Decimal
    reseller_after: Decimal


def cycles_span(tenant: Tenant, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The start of the cycle containing `start` and the end of the cycle containing the last instant
    before `end`."""
    first = cycle_of(start, tenant.signup, tenant.cycle, tenant.timezone)
    last = cycle_of(end - timedelta(milliseconds=1), tenant.signup, tenant.cycle, tenant.timezone)
    return first.start.astimezone(UTC), last.end.astimezone(UTC)


def event_of(row: Sequence[Any]) -> UsageEvent:
    specversion, event_id, source, type_, time, tenant, dct, data, extensions = row
    doc = {
        **json.loads(extensions or "{}"),
        "specversion": specversion,
        "id": event_id,
        "source": source,
        "type": type_,
        "time": (time if time.tzinfo else time.replace(tzinfo=UTC)).isoformat(),
        "subject": tenant,
        "datacontenttype": dct,
        "data": json.loads(data),
    }
    return USAGE_EVENT.validate_python(doc)


def _events(store: ClickHouseStore, tenant: str, lo: datetime, hi: datetime) -> Iterator[tuple[Any, ...]]:
    yield from store.query_rows(
        f"SELECT {_RAW}, {_POS} FROM {store.db}.raw_events WHERE tenant_id = %(t)s AND event_time >= %(lo)s "
        "AND event_time < %(hi)s ORDER BY event_time, source, event_id",
        {"t": tenant, "lo": lo, "hi": hi},
    )


def _sums(store: ClickHouseStore, tenant: str, lo: datetime, hi: datetime) -> tuple[int, Decimal, Decimal]:
    n, p, r = store.query_rows(
        f"SELECT count(), sum(amount_platform), sum(amount_reseller) FROM {store.db}.billable_lines "
        "WHERE tenant_id = %(t)s AND event_time >= %(lo)s AND event_time < %(hi)s",
        {"t": tenant, "lo": lo, "hi": hi},
    )[0]
    return int(n), Decimal(p), Decimal(r)


def rebuild_tenant(store: ClickHouseStore, ref: Reference, tenant: Tenant, start: datetime, end: datetime) -> Rebuilt:
    lo, hi = cycles_span(tenant, start, end)
    before = _sums(store, tenant.id, lo, hi)
    rater = Rater(ref.books, ref.directory, MemoryState())
    now = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = []
    events = 0
    for row in _events(store, tenant.id, lo - WINDOW_LOOKBACK, hi):
        event = event_of(row[:9])
        if event.time < lo:
            rater.observe(event)
            continue
        events += 1
        rec = ConsumedRecord(row[9], row[10], row[11], None, [])
        rows += [line_row(ln, rec, row[12], now) for ln in rater.rate(event)]
    store.command(
        f"DELETE FROM {store.db}.billable_lines WHERE tenant_id = %(t)s AND event_time >= %(lo)s "
        "AND event_time < %(hi)s",
        {"t": tenant.id, "lo": lo, "hi": hi},
    )
    for i in range(0, len(rows), _INSERT_CHUNK):
        block = BILLABLE_LINES.block(rows[i : i + _INSERT_CHUNK], "")
        store.write([block], insert_settings={"insert_deduplicate": 0})  # identical blocks on a repeat
    Rollups(store, lambda: {tenant.id: tenant.timezone}).recompute(tenant.id, lo, hi)
    after = _sums(store, tenant.id, lo, hi)
    return Rebuilt(tenant.id, lo, hi, events, before[0], after[0], before[1], after[1], before[2], after[2])


def rebuild(
    store: ClickHouseStore,
    start: datetime,
    end: datetime,
    prices_version: str | None = None,
    tenants: Sequence[str] = (),
    progress: Callable[[str], None] = lambda _m: None,
) -> list[Rebuilt]:
    ref = load_reference(store, prices_version)
    chosen = [t for t in ref.directory.tenants if not tenants or t.id in tenants]
    out = []
    for i, tenant in enumerate(chosen, 1):
        done = rebuild_tenant(store, ref, tenant, start, end)
        progress(
            f"[{i}/{len(chosen)}] {tenant.id}: {done.events} events, lines {done.lines_before} -> {done.lines_after}"
        )
        out.append(done)
    return out


def print_progress(err: TextIO = sys.stderr) -> Callable[[str], None]:
    return lambda m: print(m, file=err, flush=True)
