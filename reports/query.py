"""The one read path of the reports: sums of the rollups for some tenants over a period, by chosen columns.

Column names come from `DIMS` (a fixed list, never from a request); values are bound as parameters.
Whole local days read `rollup_day` (each tenant's own local days: a period of one tenant, in its zone);
ranges of instants read `rollup_hour` when both ends are whole hours, else `rollup_minute`, grouped into
days of the period's zone. A period over tenants of several zones is a range of instants
(reports/catalog.py), so every tenant is counted over the same hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from omnimeter.reports.period import Period
from omnimeter.schemas.directory import Tenant
from omnimeter.sinks.clickhouse import ClickHouseStore
from omnimeter.sinks.rollups import DIMS

VALUES = ("lines", "quantity", "amount_platform", "amount_reseller", "newest_event")


@dataclass(frozen=True, slots=True)
class Agg:
    key: dict[str, Any]
    day: date | None
    lines: int
    quantity: Decimal
    amount_platform: Decimal
    amount_reseller: Decimal
    newest_event: datetime | None

    def __getitem__(self, name: str) -> Any:
        return self.key[name]


def fetch(
    store: ClickHouseStore,
    tenants: Sequence[Tenant],
    period: Period,
    dims: Sequence[str],
    by_day: bool = False,
    meter_prefix: str = "",
) -> list[Agg]:
    bad = [d for d in dims if d not in DIMS]
    if bad:
        raise ValueError(f"not a rollup column: {', '.join(bad)}")
    if not tenants:
        return []
    select = ", ".join([*dims, ""]) if dims else ""
    values = "sum(lines), sum(quantity), sum(amount_platform), sum(amount_reseller), max(newest_event)"
    group = ", ".join([*dims, "d"] if by_day else dims)
    group_by = f" GROUP BY {group}" if group else ""
    meter = " AND startsWith(meter, %(mp)s)" if meter_prefix else ""
    out: list[Agg] = []
    groups: list[tuple[str, list[str]]]
    if period.whole_days:
        day = "day" if by_day else "NULL"
        sql = (
            f"SELECT {select}{day} AS d, {values} FROM {store.db}.rollup_day FINAL "
            f"WHERE tenant_id IN %(ts)s AND day >= %(d0)s AND day <= %(d1)s{meter}{group_by}"
        )
        groups = [("UTC", [t.id for t in tenants])]
        params: dict[str, Any] = {"d0": period.first, "d1": period.last, "mp": meter_prefix}
    else:
        assert period.start is not None and period.end is not None
        table = "rollup_hour" if period.start.minute == 0 and period.end.minute == 0 else "rollup_minute"
        day = "toDate(bucket, %(tz)s)" if by_day else "NULL"
        sql = (
            f"SELECT {select}{day} AS d, {values} FROM {store.db}.{table} FINAL "
            f"WHERE tenant_id IN %(ts)s AND bucket >= %(b0)s AND bucket < %(b1)s{meter}{group_by}"
        )
        groups = [(period.tz, [t.id for t in tenants])]  # one instant range, days in the period's zone
        params = {"b0": period.start.astimezone(UTC), "b1": period.end.astimezone(UTC), "mp": meter_prefix}
    for tz, ids in groups:
        for row in store.query_rows(sql, {**params, "ts": ids, "tz": tz}):
            key = dict(zip(dims, row[: len(dims)], strict=True))
            d, lines, qty, ap, ar, newest = row[len(dims) :]
            if not lines:
                continue  # an aggregate over no rows
            out.append(
                Agg(
                    key,
                    d,
                    int(lines),
                    Decimal(qty),
                    Decimal(ap),
                    Decimal(ar),
                    newest.replace(tzinfo=UTC) if newest and newest.tzinfo is None else newest,
                )
            )
    return out


def newest(rows: Sequence[Agg]) -> datetime | None:
    times = [r.newest_event for r in rows if r.newest_event is not None and r.newest_event.year > 1970]
    return max(times) if times else None
