"""Cycle charges of each charge model, written by hand from the published rules. The charge of a
(tenant, cycle, meter) is the model applied to the cycle's quantity; arrival order never changes it.

Sources:
- Stripe docs, "Usage-based pricing models / tiered pricing": *graduated* prices each unit at the tier
  it falls in; *volume* prices every unit at the tier the total falls in; a tier's ``flat_amount`` is
  charged once for the tier (graduated: for each tier reached; volume: for the tier the total falls in);
  *package* pricing bills per package of N units, a partial package rounded up (or down).
- Lago docs, "Charge models": graduated, volume (with a flat fee per tier), package (units per package,
  rounding up), percentage; "minimum spending per charge": below the minimum, the minimum is billed.
- OpenMeter docs, "Prices": tiered (graduated and volume) prices are applied to the aggregated usage of
  the billing period.
The tier table is ours; every expected amount is computed by hand in the comment beside it.
"""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

from omnimeter.pricing.cycle_charges import cycle_charges
from tests.reference.books import book, books, event, rate

SMS = "sms.outbound.segments"
TIERS = [{"up_to": 5, "unit": "7"}, {"up_to": 10, "unit": "6.5", "flat": "10"}, {"unit": "6"}]


def sms(n: int, tenant: str = "direct") -> Any:
    return event(tenant, "message.sent", {"channel": "sms", "account": "+1555", "contact": "+1556",
                                         "sender_kind": "operator", "body": "hi"}, n)  # fmt: skip


def charge(price: dict[str, Any], quantity: int, tenant: str = "direct", retail: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    docs = [book("direct", {SMS: price}), book("wholesale", {SMS: price})]
    if retail is not None:
        docs.append(book("retail", {SMS: retail}))
    b = books(*docs)
    lines = rate([sms(i, tenant) for i in range(quantity)], b)
    (c,) = [c for c in cycle_charges(lines, b) if c.meter == SMS]
    return c


def test_volume_is_priced_on_the_cycle_quantity_in_any_order() -> None:
    price = {"model": "volume", "tiers": [{"up_to": 2, "unit": "1.00"}, {"unit": "0.50"}]}
    b = books(book("direct", {SMS: price}))
    for order in itertools.permutations(range(3)):
        lines = rate([sms(i) for i in order], b)
        (c,) = [c for c in cycle_charges(lines, b) if c.meter == SMS]
        assert c.platform.charge == D("1.50")  # 3 units, all at the 0.50 tier (Stripe/Lago volume)
        assert c.platform.lines_amount == D("2.50")  # 1.00 + 1.00 + 0.50 as they arrived
        assert c.platform.adjustment == D("-1.00")


def test_graduated_with_a_flat_fee_per_tier() -> None:
    price = {"model": "graduated", "tiers": TIERS}
    assert charge(price, 5).platform.charge == D("35.00")  # 5 x 7
    assert charge(price, 6).platform.charge == D("51.50")  # 35 + 10 flat + 1 x 6.5
    assert charge(price, 11).platform.charge == D("83.50")  # 35 + (10 + 5 x 6.5) + 1 x 6
    assert charge(price, 11).platform.adjustment == D(0)  # graduated lines add up exactly


def test_volume_with_a_flat_fee_per_tier() -> None:
    price = {"model": "volume", "tiers": TIERS}
    assert charge(price, 5).platform.charge == D("35.00")  # 5 x 7
    assert charge(price, 6).platform.charge == D("49.00")  # 10 flat + 6 x 6.5
    assert charge(price, 11).platform.charge == D("66.00")  # 11 x 6, no flat fee in the last tier


def test_package_rounds_once_per_cycle() -> None:
    up = {"model": "package", "package_size": 100, "package_price": "5.00"}
    assert charge(up, 100).platform.charge == D("5.00")  # one package
    assert charge(up, 101).platform.charge == D("10.00")  # 101 units: 2 packages, rounded up
    down = {**up, "package_rounding": "down"}
    assert charge(down, 199).platform.charge == D("5.00")  # 1 whole package, the rest not billed


def test_minimum_per_cycle() -> None:
    c = charge({"unit": "0.01", "minimum": "5.00"}, 100)
    assert (c.platform.lines_amount, c.platform.charge, c.platform.adjustment) == (D("1.00"), D("5.00"), D("4.00"))


def test_both_parties_are_charged_on_the_cycle_quantity() -> None:
    """A reseller's tenant: price to platform from the wholesale book, price to reseller from the retail
    book, each the model on the cycle's quantity, each with its adjustment."""
    wholesale = {"model": "volume", "tiers": [{"up_to": 2, "unit": "1.00"}, {"unit": "0.50"}]}
    retail = {"model": "volume", "tiers": [{"up_to": 1, "unit": "2.00"}, {"unit": "1.20"}]}
    c = charge(wholesale, 3, tenant="sub", retail=retail)
    assert (c.platform.charge, c.platform.adjustment) == (D("1.50"), D("-1.00"))  # 3 x 0.50; lines 1+1+0.5
    assert c.reseller is not None
    assert (c.reseller.charge, c.reseller.adjustment) == (D("3.60"), D("-0.80"))  # 3 x 1.20; lines 2+1.2+1.2
