"""Totals are sums of rounded invoice lines (DESIGN 4: rounded once per invoice line, half-up): a service's
cost is the sum of its meter rows as shown, whatever the cents lost or gained by rounding each line.

Numbers that used to disagree: two meters of one service at 1.005 each were 1.01 + 1.01 = 2.02 in
`by_meter` but round(2.010) = 2.01 in `by_service`; two tenants of one meter at 0.125 each were 0.13 + 0.13
on their invoices but 0.25 in the meter's row.
"""

from __future__ import annotations

from decimal import Decimal

from omnimeter.reports.query import Agg
from omnimeter.reports.usage_reports import _by_service, invoice_lines


def _agg(tenant: str, meter: str, amount: str) -> Agg:
    key = {"tenant_id": tenant, "meter": meter, "reseller_id": "", "currency_platform": "USD", "currency_reseller": ""}
    return Agg(key, None, 1, Decimal(60), Decimal(amount), Decimal(0), None)


def test_a_service_is_the_sum_of_its_rounded_meter_rows() -> None:
    rows = [_agg("t1", "voice.outbound.seconds", "1.005"), _agg("t1", "voice.inbound.seconds", "1.005")]
    meters = _by_service(rows)
    assert meters[("calls", "voice.outbound.seconds", "USD")][1] == Decimal("1.01")
    assert meters[("calls", "voice.inbound.seconds", "USD")][1] == Decimal("1.01")
    assert sum(c for (_s, _m, _c), (_q, c) in meters.items()) == Decimal("2.02")  # not round(2.010) = 2.01


def test_a_meter_row_is_the_sum_of_its_tenants_invoice_lines() -> None:
    rows = [_agg("t1", "sms.outbound.segments", "0.125"), _agg("t2", "sms.outbound.segments", "0.125"),
            _agg("t2", "sms.outbound.segments", "0.000004")]  # fmt: skip
    lines = invoice_lines(rows)
    assert lines[("t1", "sms.outbound.segments", "USD")][1] == Decimal("0.13")
    assert lines[("t2", "sms.outbound.segments", "USD")][1] == Decimal("0.13")  # 0.125004: summed, then rounded
    assert _by_service(rows)[("outgoing_sms", "sms.outbound.segments", "USD")] == [Decimal(180), Decimal("0.26")]
