"""Cycle charges: what a (tenant, billing cycle, meter) costs each party, the book's charge model applied
to the cycle's aggregated quantity, the way Stripe, Lago and OpenMeter charge aggregated usage.

Lines are priced one by one as events arrive (for attribution and drill-down: a volume price at the
running tier, a package price at the running block); their sum can differ from the cycle's charge, and
depends on arrival order for the models whose price depends on the cycle total. The charge does not:
it is a function of the cycle's quantity alone. The difference is an explicit `adjustment`.

Per model, for one book version's usage in the cycle:
* per_unit, percentage: linear, so the charge is the sum of the lines (rate decks and connection fees
  are per line);
* graduated, volume, package: ``Charge.total(quantity)`` once per cycle (each tier's flat fee once, the
  package rounding once), plus the connection fee of every connected call;
* then the price's ``minimum`` per cycle, then rounding once to the currency's minor units with the
  book's rounding mode.
A cycle that spans two versions of a book charges each version for the usage it priced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from omnimeter.pricing.books import PriceBook, PriceBooks
from omnimeter.pricing.charges import ChargeModel
from omnimeter.pricing.meters import UNPRICED
from omnimeter.pricing.money import round_money
from omnimeter.pricing.rating import BillableLine, is_reversal
from omnimeter.schemas.types import Period

ZERO = Decimal(0)
_LINEAR = (ChargeModel.PER_UNIT, ChargeModel.PERCENTAGE)


@dataclass(frozen=True, slots=True)
class BookUsage:
    """One party's usage of a meter in a cycle under one book version: what the charge is computed from."""

    book: str  # label id@version; "" when no book priced it
    quantity: Decimal  # charged quantity (lines without a free reason)
    lines_amount: Decimal  # sum of the line amounts, at line precision
    connections: int = 0  # connected calls (connection fee per call)
    unpriced: int = 0  # lines marked unpriced (no book priced them)


@dataclass(frozen=True, slots=True)
class PartyCharge:
    currency: str
    lines_amount: Decimal  # the sum of the lines, rounded once
    charge: Decimal  # the cycle charge, rounded once
    books: tuple[str, ...] = ()
    unpriced: bool = False  # no book prices this meter for this party

    @property
    def adjustment(self) -> Decimal:
        return self.charge - self.lines_amount


@dataclass(frozen=True, slots=True)
class CycleCharge:
    tenant_id: str
    reseller_id: str
    cycle_start: date
    meter: str
    unit: str
    quantity: Decimal
    lines: int
    platform: PartyCharge
    reseller: PartyCharge | None  # None for a direct tenant


def party_charge(
    meter: str,
    usages: Iterable[BookUsage],
    books: dict[str, PriceBook],
    currency: str,
    cycle: Period = Period.MONTHLY,
) -> PartyCharge:
    """The cycle charge of one party for one meter, from its usage under each book version. `cycle`: the
    tenant's cycle length (a seat price per month charges a yearly cycle 12 times: BillingPolicy)."""
    charge = lines = ZERO
    labels: list[str] = []
    unpriced = False
    rounding = None
    latest = None  # the book version in effect last: its currency, rounding and minimum apply
    charged = ZERO
    for u in usages:
        book = books.get(u.book)
        price = book.prices.get(meter) if book is not None else None
        if book is not None:
            labels.append(u.book)
            if latest is None or book.effective_from > latest.effective_from:
                latest = book
        lines += u.lines_amount
        charged += u.quantity
        unpriced = unpriced or u.unpriced > 0
        if price is None:
            unpriced = unpriced or u.quantity > 0
            charge += u.lines_amount
            continue
        if price.model in _LINEAR:
            charge += u.lines_amount
        else:
            periods = book.billing.seat_multiplier(meter, cycle) if book is not None else 1
            charge += price.charge().total(u.quantity) * periods + price.connection_fee * u.connections
    if latest is not None:
        currency, rounding = latest.currency, latest.rounding
        price = latest.prices.get(meter)
        if price is not None and charged > 0:
            charge = max(charge, price.minimum)  # once per cycle, whatever the versions
    if rounding is None:
        return PartyCharge(currency, round_money(lines, currency), round_money(charge, currency), (), unpriced)
    return PartyCharge(
        currency, round_money(lines, currency, rounding), round_money(charge, currency, rounding), tuple(labels),
        unpriced,
    )  # fmt: skip


def cycle_charges(
    lines: Iterable[BillableLine], price_books: PriceBooks, cycles: Mapping[str, Period] | None = None
) -> list[CycleCharge]:
    """Every (tenant, cycle, meter) of `lines`, charged for both parties. Depends only on the set of lines'
    quantities and books, not on their order. `cycles`: each tenant's cycle length (default monthly), for
    seat prices per month (BillingPolicy.seat_period)."""
    books = {b.label: b for b in price_books.books}
    groups: dict[tuple[str, date, str], list[BillableLine]] = {}
    for ln in lines:
        groups.setdefault((ln.tenant_id, ln.cycle_start, ln.meter), []).append(ln)
    out = []
    for (tenant, cycle, meter), group in sorted(groups.items()):
        first = next((ln for ln in group if ln.reseller_id), group[0])  # a reseller in the cycle: both parties
        length = (cycles or {}).get(tenant, Period.MONTHLY)
        platform = party_charge(meter, _usage(group, True), books, first.currency_platform or "USD", length)
        reseller = None
        if first.reseller_id:
            reseller = party_charge(meter, _usage(group, False), books, first.currency_reseller or "USD", length)
        charged = sum((ln.quantity for ln in group if not ln.free_reason), ZERO)
        count = sum(-1 if is_reversal(ln) else 1 for ln in group)  # in effect: a corrected decision counts once
        out.append(CycleCharge(tenant, first.reseller_id, cycle, meter, first.unit, charged, count, platform,
                               reseller))  # fmt: skip
    return out


def _usage(group: list[BillableLine], platform: bool) -> list[BookUsage]:
    acc: dict[str, list[Decimal]] = {}
    for ln in group:
        label = ln.book_platform if platform else ln.book_reseller
        a = acc.setdefault(label, [ZERO, ZERO, ZERO, ZERO])
        why = ln.free_reason_platform if platform else ln.free_reason  # each party's own decision
        if why == UNPRICED:
            a[3] += 1
        if not why:
            q = ln.quantity_platform if platform else ln.quantity
            a[0] += q
            if ln.meter.startswith("voice.") and ln.meter.endswith(".seconds") and q > 0:
                a[2] += 1
        a[1] += ln.amount_platform if platform else ln.amount_reseller
    return [BookUsage(label, q, amount, int(conn), int(un)) for label, (q, amount, conn, un) in sorted(acc.items())]


@dataclass(frozen=True, slots=True)
class CostCharge:
    """What a (tenant, cycle, meter) cost the platform in one currency: its suppliers' cycle charge (each
    cost book's charge model on the cycle's charged supplier quantity, provider-reported prices summed)."""

    tenant_id: str
    reseller_id: str
    cycle_start: date
    meter: str
    cost: PartyCharge


def cycle_costs(lines: Iterable[BillableLine], price_books: PriceBooks) -> list[CostCharge]:
    """The cost of every (tenant, cycle, meter, cost currency) of `lines` that carry a cost: the sum over
    suppliers (each cost book's model, minimum and rounding on its own usage; provider-reported prices
    summed). Like the prices, a function of the set of lines, not of their order."""
    books = {b.label: b for b in price_books.books}
    groups: dict[tuple[str, date, str, str], dict[str, list[BillableLine]]] = {}
    for ln in lines:
        if ln.cost_source:
            key = (ln.tenant_id, ln.cycle_start, ln.meter, ln.cost_currency)
            groups.setdefault(key, {}).setdefault(cost_supplier(ln.cost_book, ln.cost_source), []).append(ln)
    out = []
    for (tenant, cycle, meter, currency), by_supplier in sorted(groups.items()):
        charges = [party_charge(meter, cost_usage(g), books, currency) for _s, g in sorted(by_supplier.items())]
        reseller = next((ln.reseller_id for g in by_supplier.values() for ln in g if ln.reseller_id), "")
        out.append(CostCharge(tenant, reseller, cycle, meter, sum_charges(charges, currency)))
    return out


def cost_supplier(cost_book: str, cost_source: str) -> str:
    """Which supplier charge a cost line belongs to: its cost book (id, every version), or '' for prices
    the provider reported."""
    return "" if cost_source == "provider" else cost_book.rpartition("@")[0]


def sum_charges(charges: list[PartyCharge], currency: str) -> PartyCharge:
    """Several suppliers' charges of one meter in one currency, added (each rounded on its own)."""
    return PartyCharge(
        currency, sum((c.lines_amount for c in charges), ZERO), sum((c.charge for c in charges), ZERO),
        tuple(b for c in charges for b in c.books), any(c.unpriced for c in charges),
    )  # fmt: skip


def cost_usage(group: Iterable[BillableLine]) -> list[BookUsage]:
    """The supplier usage of lines of one meter: per cost book, the charged supplier quantity; lines whose
    price the provider reported count as already priced (no book: their amounts are summed)."""
    acc: dict[str, list[Decimal]] = {}
    for ln in group:
        by_book = ln.cost_source != "provider"
        a = acc.setdefault(ln.cost_book if by_book else "", [ZERO, ZERO, ZERO])
        if by_book and not ln.free_reason_cost:
            a[0] += ln.quantity_cost
            if ln.meter.startswith("voice.") and ln.meter.endswith(".seconds") and ln.quantity_cost > 0:
                a[2] += 1
        a[1] += ln.cost_amount
    return [BookUsage(label, q, amount, int(conn)) for label, (q, amount, conn) in sorted(acc.items())]
