"""Totals of billable lines per tenant and meter: the invoice lines of an estimate.

Line amounts keep 6 decimal places; a total is rounded once, to the currency's minor units, with the
rounding mode of the book that priced it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from omnimeter.pricing.money import Rounding, round_money
from omnimeter.pricing.rating import BillableLine


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


def totals(
    lines: Iterable[BillableLine], rounding_of: Callable[[str], Rounding] = lambda _label: Rounding.HALF_UP
) -> list[Total]:
    acc: dict[tuple[str, str], list] = {}  # type: ignore[type-arg]
    for ln in lines:
        a = acc.setdefault((ln.tenant_id, ln.meter), [ln, Decimal(0), 0, Decimal(0), Decimal(0), "", ""])
        a[1] += ln.quantity
        a[2] += 1
        a[3] += ln.amount_platform
        a[4] += ln.amount_reseller
        a[5] = a[5] or ln.book_platform
        a[6] = a[6] or ln.book_reseller
    out = []
    for (tenant, meter), (first, qty, n, ap, ar, bp, br) in sorted(acc.items()):
        cp, cr = first.currency_platform or "USD", first.currency_reseller or "USD"
        out.append(
            Total(
                tenant,
                first.reseller_id,
                meter,
                first.unit,
                qty,
                n,
                round_money(ap, cp, rounding_of(bp)),
                first.currency_platform,
                round_money(ar, cr, rounding_of(br)),
                first.currency_reseller,
            )
        )
    return out
