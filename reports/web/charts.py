"""The overview's charts from the usage report read by day, so that they can be trusted:

* this period and the previous one are cut into buckets of the same size counted from each period's
  first day (a week is 7 days from `from`, not a calendar week that the two periods cut differently; a
  month is a calendar month of each period), and bucket i of this period stands beside bucket i of the
  previous one, each labelled with its own dates;
* a bucket with fewer days than its size, or with days still to come, is marked partial; days after
  today draw nothing, and the previous period counts only the days paired with days that have happened
  (like for like);
* recurring charges (seats) are kept apart from usage, so a seat fee does not flatten every service.

Amounts are summed in Decimal from the report's rows; the spec gives them as strings (`raw`) beside the
numbers Chart.js draws.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from omnimeter.reports import labels

RECURRING = frozenset({"seats"})
ZERO = Decimal(0)
DASH = " \u2013 "
Row = Mapping[str, Any]


@dataclass(frozen=True)
class Bucket:
    first: date
    last: date  # inside the period
    full: bool  # as many days as the bucket size, none still to come


def period_days(period: Mapping[str, str]) -> tuple[date, date]:
    """The local days a report's period covers."""
    if period.get("kind") == "instants":
        zone = ZoneInfo(period["time_zone"])
        start = datetime.fromisoformat(period["from"]).astimezone(zone)
        end = datetime.fromisoformat(period["to"]).astimezone(zone) - timedelta(microseconds=1)
        return start.date(), end.date()
    return date.fromisoformat(period["from"][:10]), date.fromisoformat(period["to"][:10])


def _month_index(first: date, d: date) -> int:
    return (d.year - first.year) * 12 + d.month - first.month


def index_of(first: date, d: date, group: str) -> int:
    if group == "week":
        return (d - first).days // 7
    if group == "month":
        return _month_index(first, d)
    return (d - first).days


def buckets(first: date, last: date, group: str, today: date) -> list[Bucket]:
    out: dict[int, list[date]] = defaultdict(list)
    d = first
    while d <= last:
        out[index_of(first, d, group)].append(d)
        d += timedelta(days=1)
    found = []
    for _i, days in sorted(out.items()):
        a, b = days[0], days[-1]
        if group == "week":
            size = 7
        elif group == "month":
            size = ((a.replace(day=28) + timedelta(days=4)).replace(day=1) - a.replace(day=1)).days
        else:
            size = 1
        found.append(Bucket(a, b, len(days) == size and b < today))  # today's is still filling
    return found


def span(a: date, b: date) -> str:
    """'Nov 3', 'Nov 3-9', 'Nov 28 - Dec 4' (en dashes), with the year when the ends differ in year."""
    if a == b:
        return f"{a:%b} {a.day}"
    if a.year != b.year:
        return f"{a:%b} {a.day}, {a.year}{DASH}{b:%b} {b.day}, {b.year}"
    if a.month == b.month:
        return f"{a:%b} {a.day}\u2013{b.day}"
    return f"{a:%b} {a.day}{DASH}{b:%b} {b.day}"


def main_currency(rows: Sequence[Row]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["currency"]] += 1
    return max(sorted(counts), key=lambda c: counts[c]) if counts else ""


def _num(values: list[Decimal]) -> list[float | None]:
    return [float(v) for v in values]


def comparison(rows: Sequence[Row], period: Mapping[str, str], group: str, today: date) -> dict[str, Any]:
    """Cost per bucket of this period beside the previous period's (usage only; rows of the usage report
    grouped by day)."""
    first, last = period_days(period)
    currency = main_currency(rows)
    usage = [r for r in rows if r["service"] not in RECURRING and r["currency"] == currency]
    shown = [b for b in buckets(first, last, group, today) if b.first <= today]
    now: list[Decimal] = [ZERO] * len(shown)
    old: list[Decimal] = [ZERO] * len(shown)
    prev_days: dict[int, list[date]] = defaultdict(list)
    whole_prev = [date.fromisoformat(r["previous_period"]) for r in rows if r["previous_period"]]
    for r in usage:
        d = date.fromisoformat(r["period"])
        if d > today:
            continue
        i = index_of(first, d, group)
        if i >= len(shown):
            continue
        now[i] += Decimal(r["cost"])
        if r["previous_period"]:
            pd = date.fromisoformat(r["previous_period"])
            old[i] += Decimal(r["previous_cost"])
            prev_days[i].append(pd)
    prev_first, prev_last = min(whole_prev, default=None), max(whole_prev, default=None)
    this_label = f"this period ({span(first, last)})"
    prev_label = f"previous period ({span(prev_first, prev_last)})" if prev_first and prev_last else "previous period"
    partial = [not b.full for b in shown]
    return {
        "type": "bar",
        "currency": currency,
        "labels": [span(b.first, b.last) + (" (partial)" if p else "") for b, p in zip(shown, partial, strict=True)],
        "datasets": [
            {
                "label": this_label, "data": _num(now), "raw": [str(v) for v in now], "partial": partial,
                "periods": [span(b.first, b.last) for b in shown],
            },
            {
                "label": prev_label, "data": _num(old), "raw": [str(v) for v in old], "partial": partial,
                "periods": [span(min(ds), max(ds)) if ds else "" for ds in (prev_days[i] for i in range(len(shown)))],
            },
        ],
    }  # fmt: skip


def service_trend(rows: Sequence[Row], period: Mapping[str, str], group: str, today: date) -> dict[str, Any]:
    """Per service (usage only), cost or quantity per bucket of this period: two sets of datasets the
    page switches between."""
    first, last = period_days(period)
    currency = main_currency(rows)
    shown = [b for b in buckets(first, last, group, today) if b.first <= today]
    cost: dict[str, list[Decimal]] = {}
    quantity: dict[str, list[Decimal]] = {}
    units: dict[str, str] = {}
    for r in rows:
        d = date.fromisoformat(r["period"])
        svc = r["service"]
        if svc in RECURRING or d > today or r["currency"] != currency:
            continue
        i = index_of(first, d, group)
        if i >= len(shown):
            continue
        cost.setdefault(svc, [ZERO] * len(shown))[i] += Decimal(r["cost"])
        q = Decimal(r["quantity"])
        quantity.setdefault(svc, [ZERO] * len(shown))[i] += q / 60 if r["unit"] == "seconds" else q
        units[svc] = labels.unit(r["unit"])
    order = list(labels.SERVICES)
    names = sorted(cost, key=lambda s: order.index(s) if s in order else len(order))
    partial = [not b.full for b in shown]
    return {
        "type": "line",
        "currency": currency,
        "labels": [span(b.first, b.last) + (" (partial)" if p else "") for b, p in zip(shown, partial, strict=True)],
        "mode": "cost",
        "partial": partial,
        "modes": {
            "cost": [{"label": f"{labels.service(s)} ({currency})", "data": _num(cost[s]),
                      "raw": [str(v) for v in cost[s]]} for s in names],
            "quantity": [{"label": f"{labels.service(s)} ({units[s]})", "data": _num(quantity[s]),
                          "raw": [str(v) for v in quantity[s]]} for s in names],
        },
        "datasets": [],
    }  # fmt: skip


def counts_over_time(
    rows: Sequence[Row], period: Mapping[str, str], group: str, today: date, columns: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """Counts per bucket (`columns`: (column, label) of rows read by day, e.g. the WhatsApp report's
    messages) in the same buckets as the overview: of one size counted from the period's first day, partial
    ones marked, none after today."""
    first, last = period_days(period)
    shown = [b for b in buckets(first, last, group, today) if b.first <= today]
    series = {c: [ZERO] * len(shown) for c, _label in columns}
    for r in rows:
        d = date.fromisoformat(r["period"])
        i = index_of(first, d, group)
        if d > today or not 0 <= i < len(shown):
            continue
        for c, _label in columns:
            series[c][i] += Decimal(r[c])
    partial = [not b.full for b in shown]
    return {
        "type": "bar",
        "labels": [span(b.first, b.last) + (" (partial)" if p else "") for b, p in zip(shown, partial, strict=True)],
        "partial": partial,
        "datasets": [
            {"label": label, "data": _num(series[c]), "raw": [str(v) for v in series[c]], "partial": partial}
            for c, label in columns
        ],
    }
