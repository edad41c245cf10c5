"""Largest-remainder allocation in minor units: the parts always add up to the total."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnimeter.pricing.allocation import allocate, split_member


def test_carrier_invoice_split_by_usage() -> None:
    parts = allocate(D("1200.00"), {"sales": D(1), "support": D(1), "billing": D(1)}, "USD")
    assert parts == {"billing": D("400.00"), "sales": D("400.00"), "support": D("400.00")}
    parts = allocate(D("100.00"), {"a": D(1), "b": D(1), "c": D(1)}, "USD")
    assert sorted(parts.values()) == [D("33.33"), D("33.33"), D("33.34")]
    assert sum(parts.values()) == D("100.00")


def test_zero_minor_unit_currency_and_no_usage() -> None:
    assert allocate(D(1000), {"a": D(2), "b": D(1)}, "CLP") == {"a": D(667), "b": D(333)}
    assert allocate(D("10.00"), {"a": D(0), "b": D(0)}, "USD") == {"a": D("5.00"), "b": D("5.00")}


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        allocate(D(1), {}, "USD")
    with pytest.raises(ValueError):
        allocate(D(1), {"a": D(-1)}, "USD")


@given(
    st.decimals(min_value=-(10**7), max_value=10**7, places=2),
    st.dictionaries(st.text(min_size=1, max_size=5), st.decimals(0, 10**6, places=3), min_size=1, max_size=12),
    st.sampled_from(["USD", "CLP", "KWD"]),
)
def test_parts_always_sum_to_the_total(total: D, weights: dict[str, D], currency: str) -> None:
    from omnimeter.pricing.money import round_money

    parts = allocate(total, weights, currency)
    assert set(parts) == set(weights)
    assert sum(parts.values()) == round_money(total, currency)


def test_user_split_across_billing_units() -> None:
    assert split_member(None, ["a", "b"]) == {"a": D("0.5"), "b": D("0.5")}
    shares = split_member({"a": D(3), "b": D(1)}, ["a", "b"])
    assert shares == {"a": D("0.75"), "b": D("0.25")} and sum(shares.values()) == 1
