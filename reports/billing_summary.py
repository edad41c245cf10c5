"""Estimated charges per tenant over all its metered cycles: price to platform and price to reseller.

Each amount is the sum of the tenant's cycle charges (reports/adjustments.py: the charge model on each
cycle's quantity), with the adjustment (cycle charges less the sum of the lines) beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from omnimeter.reports.adjustments import cycle_charges
from omnimeter.reports.reference import load_reference
from omnimeter.reports.section import Section
from omnimeter.sinks.clickhouse import ClickHouseStore
from omnimeter.sinks.tables import REVERSAL

ZERO = Decimal(0)
TITLE = "estimated charges by tenant (cycle charges)"
COLUMNS = ["tenant", "reseller", "lines", "free lines", "price to platform", "adjustment (platform)",
           "price to reseller", "adjustment (reseller)"]  # fmt: skip


@dataclass
class _Tenant:
    reseller: str
    lines: int = 0
    free: int = 0
    platform: Decimal = ZERO
    platform_adjustment: Decimal = ZERO
    currency_platform: str = ""
    reseller_charge: Decimal = ZERO
    reseller_adjustment: Decimal = ZERO
    currency_reseller: str = ""

    def row(self, tenant: str) -> tuple[object, ...]:
        def amount(a: Decimal, cur: str) -> str:
            return f"{a} {cur}".strip()

        retail = bool(self.reseller)
        return (
            tenant, self.reseller or "(direct)", self.lines, self.free,
            amount(self.platform, self.currency_platform), amount(self.platform_adjustment, self.currency_platform),
            amount(self.reseller_charge, self.currency_reseller) if retail else "",
            amount(self.reseller_adjustment, self.currency_reseller) if retail else "",
        )  # fmt: skip


_SIGN = f"if({REVERSAL}, -1, 1)"  # a reversal takes its line back


def billing_summary(store: ClickHouseStore) -> list[Section]:
    rows = store.query_rows(
        # lines in effect: a corrected WhatsApp decision counts once (its reversal -1, its corrected line +1)
        f"SELECT tenant_id, any(reseller_id), cycle_start, sum({_SIGN}), sumIf({_SIGN}, free_reason != '') "
        f"FROM {store.db}.billable_lines GROUP BY tenant_id, cycle_start ORDER BY tenant_id, cycle_start"
    )
    ref = load_reference(store) if rows else None
    lengths = {t.id: t.cycle for t in ref.directory.tenants} if ref is not None else {}
    keys = [(t, c) for t, _r, c, *_ in rows]
    charges = cycle_charges(store, ref.books, keys, None, lengths) if ref is not None else {}
    tenants: dict[str, _Tenant] = {}
    for tenant, reseller, start, lines, free in rows:
        t = tenants.setdefault(tenant, _Tenant(reseller))
        t.lines += int(lines)
        t.free += int(free)
        for m in charges.get((tenant, start), []):
            t.platform += m.platform.charge
            t.platform_adjustment += m.platform.adjustment
            t.currency_platform = t.currency_platform or m.platform.currency
            if m.reseller is not None:
                t.reseller_charge += m.reseller.charge
                t.reseller_adjustment += m.reseller.adjustment
                t.currency_reseller = t.currency_reseller or m.reseller.currency
    return [Section(TITLE, COLUMNS, [t.row(tenant) for tenant, t in tenants.items()])]
