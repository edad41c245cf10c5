"""Rollups of billable_lines: minute and hour buckets in UTC, days in the tenant's time zone.

They are caches, never the truth: every refresh recomputes *whole buckets* from the level below
(lines → minute → hour; minute → local day) and writes them with a newer `version`; the tables are
ReplacingMergeTree and reads use FINAL. Recomputing a bucket is idempotent, so a refresh repeated after a
crash, run by two workers at once, or run again by `omnimeter rebuild` gives the same rows.

Which buckets to recompute: those of lines whose server-side `inserted_at` is newer than the previous
refresh minus `SLACK` (5 s: an insert in flight while a refresh read is caught by the next one); every
30th refresh looks back `WIDE_SLACK` (2 min), so even a slow insert is rolled up within about 30 s. A
worker that starts takes the newest stored `version` as its mark and looks back wide, so lines stored just
before a crash are rolled up after the restart. `omnimeter reconcile` checks rollups against the lines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from omnimeter.sinks.base import Store
from omnimeter.sinks.tables import LINES_IN_EFFECT

log = logging.getLogger(__name__)

SLACK = timedelta(seconds=5)  # an insert still in flight while a refresh reads is caught by the next
WIDE_SLACK = timedelta(minutes=2)  # every WIDE_EVERY-th refresh looks this far back: a slow insert is caught too
WIDE_EVERY = 30
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DIMS = (
    "tenant_id", "reseller_id", "meter", "unit", "channel", "account", "billing_unit", "user_id", "team",
    "queue", "bot_id", "free_reason", "currency_platform", "currency_reseller",
)  # fmt: skip
_DIMS = ", ".join(DIMS)
_FROM_LINES = f"{LINES_IN_EFFECT} AS lines, sum(quantity), sum(amount_platform), sum(amount_reseller), max(event_time)"
_FROM_ROLLUP = "sum(lines), sum(quantity), sum(amount_platform), sum(amount_reseller), max(newest_event)"
_VALUES = "lines, quantity, amount_platform, amount_reseller, newest_event"
_MINUTE = f"({_DIMS}, bucket, {_VALUES}, version)"
_DAY = f"({_DIMS}, day, {_VALUES}, time_zone, version)"
_NO_DEDUP = {"insert_deduplicate": 0}  # a bucket recomputed to the same rows must still be written
TimeZones = Callable[[], Mapping[str, str]]  # tenant id → IANA zone (tenants not listed: UTC)


class Rollups:
    def __init__(self, store: Store, time_zones: TimeZones) -> None:
        self.store = store
        self.time_zones = time_zones
        self.mark: datetime | None = None
        self._count = 0

    def _now(self) -> datetime:
        return _utc(self.store.query_rows("SELECT now64(6, 'UTC')")[0][0])

    def refresh(self) -> int:
        """Recompute every bucket that received lines since the last refresh. Returns the number of
        minute buckets recomputed."""
        db = self.store.db
        if self.mark is None:
            newest = self.store.query_rows(f"SELECT max(version) FROM {db}.rollup_minute")[0][0]
            self.mark = _utc(newest) if newest and newest.year > 1970 else EPOCH
        self._count += 1
        slack = WIDE_SLACK if self._count % WIDE_EVERY == 1 else SLACK  # wide on the first one too
        since = max(self.mark - slack, EPOCH)
        new = f"FROM {db}.billable_lines WHERE inserted_at > %(since)s"
        # One read for the new version (the server's clock), how many minute buckets and which tenants.
        now, touched, tenants = self.store.query_rows(
            f"SELECT now64(6, 'UTC'), uniqExact(tenant_id, toStartOfMinute(event_time)), groupUniqArray(tenant_id) "
            f"{new}",
            {"since": since},
        )[0]
        now = _utc(now)
        p = {"since": since, "v": now}
        if touched:
            self._command(
                _minute_from_lines(
                    db,
                    f"(tenant_id, toStartOfMinute(event_time)) IN "
                    f"(SELECT DISTINCT tenant_id, toStartOfMinute(event_time) {new})",
                ),
                p,
            )
            self._command(
                _hour_from_minute(
                    db,
                    f"(tenant_id, toStartOfHour(bucket)) IN "
                    f"(SELECT DISTINCT tenant_id, toStartOfHour(event_time) {new})",
                ),
                p,
            )
            # Every zone in one statement: each branch of the multiIf has a constant zone, as toDate needs.
            zones = list(_by_zone(tenants, self.time_zones()).items())
            zp = {f"tz{i}": tz for i, (tz, _) in enumerate(zones)} | {f"ts{i}": g for i, (_, g) in enumerate(zones)}
            self._command(
                _day_from_minute(
                    db,
                    f"tenant_id IN %(ts)s AND (tenant_id, {_local_day('bucket', len(zones))}) IN "
                    f"(SELECT DISTINCT tenant_id, {_local_day('event_time', len(zones))} {new} "
                    f"AND tenant_id IN %(ts)s)",
                    day=_local_day("bucket", len(zones)),
                    zone=_zone_of(len(zones)),
                ),
                {**p, **zp, "ts": tenants},
            )
        self.mark = now
        return int(touched)

    def recompute(self, tenant: str, start: datetime, end: datetime) -> None:
        """Drop and recompute a tenant's rollups over [start, end) widened to whole UTC days plus one day
        each side (so every local day and hour touching the range is whole). Used after a rebuild."""
        db = self.store.db
        lo = datetime.combine(start.astimezone(UTC).date() - timedelta(days=1), datetime.min.time(), UTC)
        hi = datetime.combine(end.astimezone(UTC).date() + timedelta(days=2), datetime.min.time(), UTC)
        tz = self.time_zones().get(tenant, "UTC")
        zone = ZoneInfo(tz)
        days = _whole_local_days(lo, hi, zone)
        v = self._now()
        p = {"t": tenant, "lo": lo, "hi": hi, "v": v, "tz": tz}
        for table in ("rollup_minute", "rollup_hour"):
            self._command(
                f"DELETE FROM {db}.{table} WHERE tenant_id = %(t)s AND bucket >= %(lo)s AND bucket < %(hi)s", p
            )
        self._command(_minute_from_lines(db, "tenant_id = %(t)s AND event_time >= %(lo)s AND event_time < %(hi)s"), p)
        self._command(_hour_from_minute(db, "tenant_id = %(t)s AND bucket >= %(lo)s AND bucket < %(hi)s"), p)
        if days:
            d0, d1 = days[0], days[-1]
            p |= {
                "d0": d0,
                "d1": d1,
                "b0": datetime.combine(d0, datetime.min.time(), zone).astimezone(UTC),
                "b1": datetime.combine(d1 + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC),
            }
            self._command(f"DELETE FROM {db}.rollup_day WHERE tenant_id = %(t)s AND day >= %(d0)s AND day <= %(d1)s", p)
            self._command(_day_from_minute(db, "tenant_id = %(t)s AND bucket >= %(b0)s AND bucket < %(b1)s"), p)

    def _command(self, sql: str, parameters: Mapping[str, object]) -> None:
        self.store.command(sql, dict(parameters), settings=_NO_DEDUP if sql.startswith("INSERT") else None)


def refresh_quietly(store: Store, zones: Mapping[str, str]) -> None:
    """Bring the rollups up to date once (a graceful worker stop, a report on a store no worker holds).
    A failure is only logged: the next refresh, by anyone, covers the same buckets."""
    try:
        Rollups(store, lambda: zones).refresh()
    except Exception as e:
        log.warning("rollup refresh failed: %s", e)


def _minute_from_lines(db: str, where: str) -> str:
    return (
        f"INSERT INTO {db}.rollup_minute {_MINUTE} SELECT {_DIMS}, toStartOfMinute(event_time) AS b, {_FROM_LINES}, "
        f"%(v)s FROM {db}.billable_lines WHERE {where} GROUP BY {_DIMS}, b"
    )


def _hour_from_minute(db: str, where: str) -> str:
    return (
        f"INSERT INTO {db}.rollup_hour {_MINUTE} SELECT {_DIMS}, toStartOfHour(bucket) AS b, {_FROM_ROLLUP}, "
        f"%(v)s FROM {db}.rollup_minute FINAL WHERE {where} GROUP BY {_DIMS}, b"
    )


def _day_from_minute(db: str, where: str, day: str = "toDate(bucket, %(tz)s)", zone: str = "%(tz)s") -> str:
    """By default needs the parameter `tz`: the local day of a bucket in that zone."""
    return (
        f"INSERT INTO {db}.rollup_day {_DAY} SELECT {_DIMS}, {day} AS d, {_FROM_ROLLUP}, {zone}, "
        f"%(v)s FROM {db}.rollup_minute FINAL WHERE {where} GROUP BY {_DIMS}, d"
    )


def _local_day(column: str, zones: int) -> str:
    """The local date of `column` for the tenant's zone: parameters `ts<i>` (tenants) and `tz<i>` (zone)."""
    branches = ", ".join(f"tenant_id IN %(ts{i})s, toDate({column}, %(tz{i})s)" for i in range(zones))
    return f"multiIf({branches}, toDate({column}, 'UTC'))"


def _zone_of(zones: int) -> str:
    branches = ", ".join(f"tenant_id IN %(ts{i})s, %(tz{i})s" for i in range(zones))
    return f"multiIf({branches}, 'UTC')"


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _by_zone(tenants: Iterable[str], zones: Mapping[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for t in tenants:
        out.setdefault(zones.get(t, "UTC"), []).append(t)
    return out


def _whole_local_days(lo: datetime, hi: datetime, zone: ZoneInfo) -> list[date]:
    """Local dates whose whole day lies inside [lo, hi)."""
    d = lo.astimezone(zone).date()
    out: list[date] = []
    while True:
        start = datetime.combine(d, datetime.min.time(), zone)
        end = datetime.combine(d + timedelta(days=1), datetime.min.time(), zone)
        if start >= hi:
            return out
        if start >= lo and end <= hi:
            out.append(d)
        d += timedelta(days=1)
