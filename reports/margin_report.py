"""Gross margin: what the platform earns over what its suppliers charge it. Platform only.

Every billable line carries its cost (pricing/rating.py: the supplier's cost book, or the price the
provider reported) next to the two prices; the platform's gross margin is price to platform - cost. Like
every report's totals, each section is the lines of the period plus the adjustments (cycle charge - lines)
of the billing cycles that close in it, for the price and for the cost alike (a cost line is priced from
zero: a supplier's tiers, packages and minimums apply once per cycle); `by_destination` shows them in a
"(cycle adjustment)" row, since a cycle charge has no destination. `by_cycle` compares the cycle charges.
Lines in effect whose own margin is negative are counted and listed (the most negative first); reversals
and the lines they take back are not lines in effect, and a line that carries only a cost (quantity 0 for
the platform's price: the supplier bills another event of the message) has no margin of its own.

Lines whose cost is in another currency than their price have no margin here: they are counted
(`other_currency_lines`) and left out of both sums, never converted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC
from decimal import Decimal
from typing import Any

from omnimeter.pricing.books import PriceBook
from omnimeter.pricing.commitments import percent
from omnimeter.pricing.cycle_charges import BookUsage, PartyCharge, cost_supplier, party_charge, sum_charges
from omnimeter.reports.adjustments import MeterCharge, closing_cycles, cycle_charges
from omnimeter.reports.model import Context, money, qty
from omnimeter.reports.query import Agg
from omnimeter.reports.section import Section
from omnimeter.reports.shapes import section
from omnimeter.sinks.clickhouse import ClickHouseStore
from omnimeter.sinks.tables import REVERSAL

ZERO = Decimal(0)
NEGATIVE_LISTED = 100
ADJUSTMENT = "(cycle adjustment)"
_SAME = "(cost_currency = '' OR cost_currency = currency_platform)"
_IN_PERIOD = "tenant_id IN %(ts)s AND event_time >= %(b0)s AND event_time < %(b1)s"
# a line in effect: neither a reversal nor a line a reversal takes back
_IN_EFFECT = (
    f"NOT {REVERSAL} AND (tenant_id, concat(event_source, '/', event_id, '/', toString(line_index))) NOT IN "
    f"(SELECT tenant_id, corrects_line_id FROM {{db}}.billable_lines WHERE {_IN_PERIOD} AND {REVERSAL})"
)
# a line that carries only a cost (the supplier bills another event of the message: an aggregator billing SMS
# on sent where the price is on the delivered line) has no margin of its own: it is not listed
_NEGATIVE_LINE = f"{_SAME} AND amount_platform < cost_amount AND quantity_platform != 0 AND {_IN_EFFECT}"
_LINES = (
    "SELECT tenant_id, reseller_id, meter, country, currency_platform, sum(quantity), "
    f"sumIf(amount_platform, {_SAME}), sumIf(cost_amount, {_SAME}), "
    f"countIf({_NEGATIVE_LINE}), countIf(NOT {_SAME}) "
    f"FROM {{db}}.billable_lines WHERE {_IN_PERIOD} "
    "GROUP BY tenant_id, reseller_id, meter, country, currency_platform"
)
_NEGATIVE = (
    "SELECT tenant_id, event_source, event_id, line_index, meter, event_time, amount_platform, cost_amount, "
    f"currency_platform FROM {{db}}.billable_lines WHERE {_IN_PERIOD} AND {_NEGATIVE_LINE} "
    "ORDER BY amount_platform - cost_amount, tenant_id, event_source, event_id, line_index LIMIT %(n)s"
)
_CYCLE_COSTS = (
    "SELECT tenant_id, cycle_start, meter, cost_currency, if(cost_source = 'provider', '', cost_book) AS label, "
    "sumIf(quantity_cost, cost_source = 'book' AND free_reason_cost = ''), sum(cost_amount), "
    "countIf(cost_source = 'book' AND free_reason_cost = '' AND quantity_cost > 0 "
    "AND match(meter, '^voice[.].+[.]seconds$')) "
    "FROM {db}.billable_lines WHERE tenant_id IN %(ts)s AND cycle_start IN %(cs)s AND cost_source != '' "
    "GROUP BY tenant_id, cycle_start, meter, cost_currency, label"
)


class _Sum:
    __slots__ = ("cost", "currency", "negative", "other", "price", "quantity")

    def __init__(self) -> None:
        self.quantity = self.price = self.cost = ZERO
        self.negative = self.other = 0
        self.currency = ""

    def add(self, q: Decimal, price: Decimal, cost: Decimal, negative: int, other: int, currency: str) -> None:
        self.quantity += q
        self.price += price
        self.cost += cost
        self.negative += negative
        self.other += other
        self.currency = self.currency or currency

    def money(self) -> tuple[Decimal, Decimal, Decimal, str | None]:
        cur = self.currency or "USD"
        price, cost = money(self.price, cur), money(self.cost, cur)
        return price, cost, price - cost, percent(price - cost, price) if price else None


def margin(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    ids = [t.id for t in ctx.tenants]
    period = ctx.period.as_instants()
    assert period.start is not None and period.end is not None
    params: dict[str, Any] = {"ts": ids, "b0": period.start.astimezone(UTC), "b1": period.end.astimezone(UTC),
                              "n": NEGATIVE_LISTED}  # fmt: skip
    tenants: dict[tuple[str, str], _Sum] = defaultdict(_Sum)
    resellers: dict[str, _Sum] = defaultdict(_Sum)
    meters: dict[str, _Sum] = defaultdict(_Sum)
    destinations: dict[tuple[str, str], _Sum] = defaultdict(_Sum)

    def add(tenant: str, reseller: str, meter: str, destination: str, values: tuple[Any, ...]) -> None:
        tenants[(tenant, reseller)].add(*values)
        resellers[reseller or "(direct)"].add(*values)
        meters[meter].add(*values)
        destinations[(meter.partition(".")[0], destination)].add(*values)

    rows = store.query_rows(_LINES.format(db=store.db), params) if ids else []
    for tenant, reseller, meter, country, cur, q, price, cost, negative, other in rows:
        add(tenant, reseller, meter, country or "(unknown)",
            (Decimal(q), Decimal(price), Decimal(cost), int(negative), int(other), cur))  # fmt: skip
    closing = _closing_charges(store, ctx)
    for tenant, reseller, meter, price, cost, cur in _adjustments(
        closing, {t.id: t.reseller or "" for t in ctx.tenants}
    ):
        add(tenant, reseller, meter, ADJUSTMENT, (ZERO, price, cost, 0, 0, cur))
    by_tenant = [(t, r or "(direct)", *s.money(), s.negative, s.other, s.currency or "USD")
                 for (t, r), s in sorted(tenants.items())]  # fmt: skip
    by_reseller = [(r, *s.money(), s.negative, s.currency or "USD") for r, s in sorted(resellers.items())]
    by_service = [(m, qty(s.quantity), *s.money(), s.negative, s.currency or "USD") for m, s in sorted(meters.items())]
    by_destination = [(ch, c, *s.money(), s.negative, s.currency or "USD")
                      for (ch, c), s in sorted(destinations.items())]  # fmt: skip
    listed = store.query_rows(_NEGATIVE.format(db=store.db), params) if ids else []
    negative = [
        (t, f"{src}/{eid}/{idx}", m, at.replace(tzinfo=UTC) if at.tzinfo is None else at, qty(Decimal(p)),
         qty(Decimal(c)), qty(Decimal(p) - Decimal(c)), cur or "USD")  # at line precision
        for t, src, eid, idx, m, at, p, c, cur in listed
    ]  # fmt: skip
    return [
        section("margin", "by_tenant", by_tenant),
        section("margin", "by_reseller", by_reseller),
        section("margin", "by_service", by_service),
        section("margin", "by_destination", by_destination),
        section("margin", "by_cycle", _cycles(closing)),
        section("margin", "negative_lines", negative),
    ], []


_Closing = tuple[list[tuple[str, Any]], dict[tuple[str, Any], list[MeterCharge]],
                 dict[tuple[str, Any], list[tuple[str, PartyCharge]]]]  # fmt: skip


def _closing_charges(store: ClickHouseStore, ctx: Context) -> _Closing:
    """The cycles closing in the period, with their price and cost cycle charges (one query each)."""
    wanted = {(t.id, c.start.date()) for t in ctx.tenants for c in closing_cycles(t, ctx.period)}
    if not wanted:
        return [], {}, {}
    books = {b.label: b for b in ctx.books.books}
    return sorted(wanted), cycle_charges(store, ctx.books, wanted), cycle_costs(store, books, wanted)


def _adjustments(closing: _Closing, reseller_of: dict[str, str]) -> list[tuple[str, str, str, Decimal, Decimal, str]]:
    """(tenant, reseller, meter, price adjustment, cost adjustment, currency) of the cycles closing in the
    period: the cycle charge less the lines, for the price to platform and for the cost."""
    _wanted, prices, costs = closing
    out: dict[tuple[str, str, str], list[Any]] = {}
    for (tenant, _start), meters in prices.items():
        for m in meters:
            if m.platform.adjustment:
                key = (tenant, m.reseller_id, m.meter)
                out.setdefault(key, [ZERO, ZERO, m.platform.currency])[0] += m.platform.adjustment
    for (tenant, _start), charges in costs.items():
        for meter, c in charges:
            if c.adjustment:
                key = (tenant, reseller_of.get(tenant, ""), meter)
                out.setdefault(key, [ZERO, ZERO, c.currency])[1] += c.adjustment
    return [(t, r, m, p, c, cur) for (t, r, m), (p, c, cur) in sorted(out.items())]


def _cycles(closing: _Closing) -> list[tuple[Any, ...]]:
    """Per cycle closing in the period: price to platform and cost as cycle charges, and the margin."""
    wanted, prices, costs = closing
    out = []
    for key in wanted:
        meters = prices.get(key, [])
        if not meters and key not in costs:
            continue
        currency = next((m.platform.currency for m in meters), "USD")
        price = sum((m.platform.charge for m in meters if m.platform.currency == currency), ZERO)
        cost = sum((c.charge for _m, c in costs.get(key, []) if c.currency in ("", currency)), ZERO)
        out.append((key[0], key[1], price, cost, price - cost, percent(price - cost, price) if price else None,
                    currency))  # fmt: skip
    return out


def cycle_costs(
    store: ClickHouseStore, books: dict[str, PriceBook], cycles: set[tuple[str, Any]]
) -> dict[tuple[str, Any], list[tuple[str, PartyCharge]]]:
    """The cost cycle charges of each (tenant, cycle start) as (meter, charge) per meter and cost currency,
    summed over suppliers, from one query (the store-side twin of pricing.cycle_charges.cycle_costs)."""
    usage: dict[tuple[str, Any, str, str], dict[str, list[BookUsage]]] = defaultdict(lambda: defaultdict(list))
    params = {"ts": sorted({t for t, _ in cycles}), "cs": sorted({c for _, c in cycles})}
    for tenant, start, meter, cur, label, q, amount, conn in store.query_rows(_CYCLE_COSTS.format(db=store.db), params):
        if (tenant, start) in cycles:
            supplier = cost_supplier(label, "book" if label else "provider")
            usage[(tenant, start, meter, cur)][supplier].append(
                BookUsage(label, Decimal(q), Decimal(amount), int(conn))
            )
    out: dict[tuple[str, Any], list[tuple[str, PartyCharge]]] = defaultdict(list)
    for (tenant, start, meter, cur), by_supplier in sorted(usage.items()):
        charges = [party_charge(meter, us, books, cur or "USD") for _s, us in sorted(by_supplier.items())]
        out[(tenant, start)].append((meter, sum_charges(charges, cur or "USD")))
    return out
