"""Totals per tenant and meter: the invoice lines of an estimate, summed over billing cycles.

Each amount is the cycle charge (pricing/cycle_charges.py: the charge model on the cycle's quantity,
rounded once per cycle to the currency's minor units with the book's rounding mode); `lines_*` is the
sum of the lines as they were priced one by one, and `adjustment_*` the difference, shown, not hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from omnimeter.pricing.books import PriceBooks
from omnimeter.pricing.cycle_charges import CycleCharge, cycle_charges, cycle_costs
from omnimeter.pricing.rating import BillableLine
from omnimeter.schemas.types import Period

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Total:
    tenant_id: str
    reseller_id: str
    meter: str
    unit: str
    quantity: Decimal
    lines: int
    amount_platform: Decimal
    currency_platform: str
    amount_reseller: Decimal
    currency_reseller: str
    lines_platform: Decimal = ZERO
    adjustment_platform: Decimal = ZERO
    lines_reseller: Decimal = ZERO
    adjustment_reseller: Decimal = ZERO
    cost: Decimal = ZERO  # what the suppliers charge the platform, as cycle charges of the cost books
    cost_currency: str = ""


def totals(lines: Iterable[BillableLine], books: PriceBooks, cycles: Mapping[str, Period] | None = None) -> list[Total]:
    """`cycles`: each tenant's cycle length (default monthly), for seat prices per month."""
    lines = list(lines)
    found = totals_of(cycle_charges(lines, books, cycles))
    costs: dict[tuple[str, str], tuple[Decimal, str]] = {}
    for c in cycle_costs(lines, books):
        amount, currency = costs.get((c.tenant_id, c.meter), (ZERO, c.cost.currency))
        if currency == c.cost.currency:  # one currency per total; another one is not converted
            costs[(c.tenant_id, c.meter)] = (amount + c.cost.charge, currency)
    return [replace(t, cost=costs[(t.tenant_id, t.meter)][0], cost_currency=costs[(t.tenant_id, t.meter)][1])
            if (t.tenant_id, t.meter) in costs else t for t in found]  # fmt: skip


def totals_of(charges: Iterable[CycleCharge]) -> list[Total]:
    acc: dict[tuple[str, str], list[CycleCharge]] = {}
    for c in charges:
        acc.setdefault((c.tenant_id, c.meter), []).append(c)
    out = []
    for (tenant, meter), cs in sorted(acc.items()):
        first = cs[0]
        retail = [c.reseller for c in cs if c.reseller is not None]
        out.append(
            Total(
                tenant, first.reseller_id, meter, first.unit,
                sum((c.quantity for c in cs), ZERO), sum(c.lines for c in cs),
                sum((c.platform.charge for c in cs), ZERO), first.platform.currency if first.platform.books else "",
                sum((r.charge for r in retail), ZERO), retail[0].currency if retail and retail[0].books else "",
                sum((c.platform.lines_amount for c in cs), ZERO), sum((c.platform.adjustment for c in cs), ZERO),
                sum((r.lines_amount for r in retail), ZERO), sum((r.adjustment for r in retail), ZERO),
            )
        )  # fmt: skip
    return out
