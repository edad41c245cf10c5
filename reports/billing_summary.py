"""Estimated charges per tenant from billable_lines: price to platform and price to reseller."""

from __future__ import annotations

from omnimeter.pricing.money import round_money
from omnimeter.reports.section import Section
from omnimeter.sinks.clickhouse import ClickHouseStore

_SIGN = "if(corrects_line_id != '' AND quantity < 0, -1, 1)"


def billing_summary(store: ClickHouseStore) -> list[Section]:
    rows = store.query_rows(
        # lines in effect: a corrected WhatsApp decision counts once (its reversal -1, its corrected line +1)
        f"SELECT tenant_id, reseller_id, sum({_SIGN}), sumIf({_SIGN}, free_reason != ''), sum(amount_platform), "
        f"any(currency_platform), sum(amount_reseller), any(currency_reseller) "
        f"FROM {store.db}.billable_lines GROUP BY tenant_id, reseller_id ORDER BY tenant_id"
    )
    out = []
    for tenant, reseller, lines, free, ap, cp, ar, cr in rows:
        out.append(
            (
                tenant,
                reseller or "(direct)",
                lines,
                free,
                f"{round_money(ap, cp or 'USD')} {cp}".strip(),
                f"{round_money(ar, cr or 'USD')} {cr}".strip() if reseller else "",
            )
        )
    return [
        Section(
            "estimated charges by tenant (billable lines)",
            ["tenant", "reseller", "lines", "free lines", "price to platform", "price to reseller"],
            out,
        )
    ]
