"""Allocation of money across parties, written by hand from moneyphp's documentation and RubyMoney's.

Sources:
- moneyphp/money docs, "Allocation": ``Money::EUR(5)->allocate([70, 30])`` gives 4 and 1 cents;
  ``allocate([30, 70])`` gives 2 and 3 cents ("the order is important": a remainder left after the
  proportional shares goes to the party with the largest fraction, the earlier one on ties);
  ``Money::EUR(800)->allocateTo(3)`` gives 267, 267 and 266 cents.
- RubyMoney README, "Splitting": ``Money.new(100, "USD").split(3)`` gives 34, 33 and 33 cents;
  ``allocate([50, 25, 25])`` of 100 cents gives 50, 25, 25.
"""

from __future__ import annotations

from decimal import Decimal as D

from omnimeter.pricing.allocation import allocate


def test_moneyphp_ratio_70_30_and_its_order() -> None:
    assert list(allocate(D("0.05"), {"me": D(70), "investors": D(30)}, "EUR").values()) == [D("0.04"), D("0.01")]
    assert list(allocate(D("0.05"), {"investors": D(30), "me": D(70)}, "EUR").values()) == [D("0.02"), D("0.03")]


def test_moneyphp_allocate_to_three() -> None:
    parts = allocate(D("8.00"), {"a": D(1), "b": D(1), "c": D(1)}, "EUR")
    assert list(parts.values()) == [D("2.67"), D("2.67"), D("2.66")]


def test_rubymoney_split_and_allocate() -> None:
    assert list(allocate(D("1.00"), {"x": D(1), "y": D(1), "z": D(1)}, "USD").values()) == [
        D("0.34"),
        D("0.33"),
        D("0.33"),
    ]
    # ties go to the earlier party, whatever the names sort as
    assert list(allocate(D("1.00"), {"z": D(1), "y": D(1), "x": D(1)}, "USD").items()) == [
        ("z", D("0.34")), ("y", D("0.33")), ("x", D("0.33"))
    ]  # fmt: skip
    assert list(allocate(D("1.00"), {"a": D(50), "b": D(25), "c": D(25)}, "USD").values()) == [
        D("0.50"), D("0.25"), D("0.25")
    ]  # fmt: skip
