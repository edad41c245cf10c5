"""Cycle charges and their adjustments, for every report that shows a total.

A line is priced as it arrives; a (tenant, cycle, meter) is charged once, by its book's charge model on
the cycle's quantity (pricing/cycle_charges.py). The difference, `charge - sum of lines`, is the cycle's
adjustment, for each party.

Reports over any period show the lines of the period plus the adjustments of the cycles that **close in
it**: a cycle closes on its last local day (whole-day periods, in the tenant's time zone) or at its last
instant (periods of instants). Each adjustment so lands in exactly one period of any partition of time
into periods (days, weeks, months add up to the same total), and a period that is exactly one cycle shows
the cycle charge. The adjustment of the running cycle is provisional: it is computed from the usage so
far and shown once the period reaches the cycle's end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from omnimeter.pricing.books import PriceBook, PriceBooks
from omnimeter.pricing.cycle_charges import BookUsage, PartyCharge, party_charge
from omnimeter.pricing.cycles import Cycle, cycle_of
from omnimeter.reports.period import Period
from omnimeter.schemas.directory import Tenant
from omnimeter.schemas.types import Period as CyclePeriod
from omnimeter.sinks.clickhouse import ClickHouseStore

ZERO = Decimal(0)
MAX_CYCLES = 1_200  # per tenant and report: a century of monthly cycles


@dataclass(frozen=True, slots=True)
class MeterCharge:
    """One meter of one cycle: the price model, the charged quantity and each party's cycle charge."""

    meter: str
    model: str  # of both parties' books
    charged: Decimal
    platform: PartyCharge
    reseller: PartyCharge | None  # None when no retail book priced the lines
    reseller_id: str = ""  # the reseller the lines were rated for ("" direct)
    model_reseller: str = ""  # of the retail books only (what a reseller's tenant may see)


@dataclass(frozen=True, slots=True)
class Adjustment:
    tenant_id: str
    reseller_id: str  # "" for a direct tenant
    cycle_start: date
    last_day: date  # the cycle's last local day: the day it closes
    meter: str
    platform: Decimal
    currency_platform: str
    reseller: Decimal
    currency_reseller: str

    @property
    def cost(self) -> Decimal:
        """Of the price the tenant pays: the reseller's for a dependent company, else the platform's."""
        return self.reseller if self.reseller_id else self.platform

    @property
    def cost_currency(self) -> str:
        return self.currency_reseller if self.reseller_id else self.currency_platform


_USAGE = (
    "SELECT tenant_id, cycle_start, reseller_id, meter, book_platform, book_reseller, currency_platform, "
    "currency_reseller, "
    "sumIf(quantity, free_reason = ''), sumIf(quantity_platform, free_reason_platform = ''), sum(amount_platform), "
    "sum(amount_reseller), "
    "countIf(free_reason_platform = '' AND quantity_platform > 0 AND match(meter, '^voice[.].+[.]seconds$')), "
    "countIf(free_reason = '' AND quantity > 0 AND match(meter, '^voice[.].+[.]seconds$')) "
    "FROM {db}.billable_lines WHERE tenant_id IN %(ts)s AND cycle_start IN %(cs)s{only} "
    "GROUP BY tenant_id, cycle_start, reseller_id, meter, book_platform, book_reseller, currency_platform, "
    "currency_reseller "
    "ORDER BY tenant_id, cycle_start, meter"
)

_Usage = dict[tuple[str, str], dict[str, list[tuple[str, str, Decimal, Decimal, int]]]]  # (reseller, meter)


def cycle_charges(
    store: ClickHouseStore,
    books: PriceBooks,
    cycles: Iterable[tuple[str, date]],
    reseller: str | None = None,
    lengths: Mapping[str, CyclePeriod] | None = None,
) -> dict[tuple[str, date], list[MeterCharge]]:
    """The charges of each (tenant, cycle start) asked, per meter and reseller the lines were rated for,
    from one query; `reseller`: only the lines rated for it (a reseller's view); `lengths`: each tenant's
    cycle length (default monthly), for seat prices per month (pricing/books.py SeatPeriod)."""
    wanted = set(cycles)
    if not wanted:
        return {}
    usage: dict[tuple[str, date], _Usage] = {}
    params: dict[str, Any] = {"ts": sorted({t for t, _ in wanted}), "cs": sorted({c for _, c in wanted}),
                              "rs": reseller}  # fmt: skip
    only = " AND reseller_id = %(rs)s" if reseller is not None else ""
    for tenant, start, rid, meter, bp, br, cp, cr, q, qp, ap, ar, conn_p, conn_r in store.query_rows(
        _USAGE.format(db=store.db, only=only), params
    ):
        if (tenant, start) not in wanted:
            continue
        u = usage.setdefault((tenant, start), {}).setdefault((rid, meter), {"platform": [], "reseller": []})
        u["platform"].append((bp, cp, Decimal(qp), Decimal(ap), int(conn_p)))
        u["reseller"].append((br, cr, Decimal(q), Decimal(ar), int(conn_r)))
    by_label = {b.label: b for b in books.books}
    length = lengths or {}
    return {
        key: _meter_charges(meters, by_label, length.get(key[0], CyclePeriod.MONTHLY)) for key, meters in usage.items()
    }


def _models(books: dict[str, PriceBook], labels: Iterable[str], meter: str) -> set[str]:
    return {books[b].prices[meter].model.value for b in labels if meter in books[b].prices}


def _meter_charges(usage: _Usage, books: dict[str, PriceBook], length: CyclePeriod) -> list[MeterCharge]:
    out = []
    for (reseller_id, meter), parties in usage.items():
        charged = sum((q for *_, q, _a, _c in parties["reseller"]), ZERO)
        priced: dict[str, PartyCharge] = {}
        for party, rows in parties.items():
            by_book: dict[str, list[Decimal]] = {}
            currency = ""
            for label, cur, q, amount, conn in rows:
                acc = by_book.setdefault(label, [ZERO, ZERO, ZERO])
                acc[0], acc[1], acc[2] = acc[0] + q, acc[1] + amount, acc[2] + conn
                currency = currency or cur
            if party == "reseller" and not any(by_book):
                continue
            usages = [BookUsage(b, q, a, int(c)) for b, (q, a, c) in sorted(by_book.items())]
            priced[party] = party_charge(meter, usages, books, currency or "USD", length)
        platform, reseller = priced["platform"], priced.get("reseller")
        retail = _models(books, reseller.books, meter) if reseller is not None else set()
        models = _models(books, platform.books, meter) | retail
        out.append(
            MeterCharge(
                meter, "/".join(sorted(models)) or "unpriced", charged, platform, reseller, reseller_id,
                "/".join(sorted(retail)) or "unpriced",
            )
        )  # fmt: skip
    return out


def closing_cycles(tenant: Tenant, period: Period) -> Iterator[Cycle]:
    """The tenant's cycles that close inside `period` (see the module docstring)."""
    if period.whole_days:
        lo = datetime.combine(period.first, datetime.min.time())
        c = cycle_of(lo.replace(tzinfo=ZoneInfo(tenant.timezone)), tenant.signup, tenant.cycle, tenant.timezone)
        for _ in range(MAX_CYCLES):
            last_day = (c.end - timedelta(days=1)).date()
            if last_day > period.last:
                return
            if last_day >= period.first:
                yield c
            c = cycle_of(c.end, tenant.signup, tenant.cycle, tenant.timezone)
        return
    assert period.start is not None and period.end is not None
    c = cycle_of(period.start, tenant.signup, tenant.cycle, tenant.timezone)
    for _ in range(MAX_CYCLES):
        closes = c.end - timedelta(microseconds=1)
        if closes >= period.end:
            return
        if closes >= period.start:
            yield c
        c = cycle_of(c.end, tenant.signup, tenant.cycle, tenant.timezone)


def adjustments(
    store: ClickHouseStore,
    books: PriceBooks,
    tenants: Sequence[Tenant],
    period: Period,
    meter_prefix: str = "",
    reseller: str | None = None,
) -> list[Adjustment]:
    """The non-zero adjustments of the cycles of `tenants` that close in `period`, per cycle, meter and the
    reseller the lines were rated for; `reseller`: only those rated for it."""
    wanted = {(t.id, c.start.date()): c for t in tenants for c in closing_cycles(t, period)}
    out = []
    lengths = {t.id: t.cycle for t in tenants}
    for (tenant, start), meters in sorted(cycle_charges(store, books, wanted, reseller, lengths).items()):
        last_day = (wanted[(tenant, start)].end - timedelta(days=1)).date()
        for m in meters:
            if not m.meter.startswith(meter_prefix):
                continue
            r = m.reseller or PartyCharge("", ZERO, ZERO)
            if m.platform.adjustment or r.adjustment:
                out.append(
                    Adjustment(
                        tenant, m.reseller_id, start, last_day, m.meter, m.platform.adjustment,
                        m.platform.currency, r.adjustment, r.currency,
                    )
                )  # fmt: skip
    return out
