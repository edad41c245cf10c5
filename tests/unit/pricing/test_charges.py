"""Charge models at tier boundaries, and the properties that truly hold (hypothesis)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnimeter.pricing.charges import Charge, ChargeModel, Tier

TIERS = (Tier(D(100), D("0.10")), Tier(D(1000), D("0.08")), Tier(None, D("0.05")))
GRAD = Charge(ChargeModel.GRADUATED, tiers=TIERS)
VOL = Charge(ChargeModel.VOLUME, tiers=TIERS)


@pytest.mark.parametrize(
    ("q", "graduated", "volume"),
    [
        (0, "0", "0"),
        (1, "0.10", "0.10"),
        (100, "10.00", "10.00"),  # up_to is inclusive: unit 100 is still in the first tier
        (101, "10.08", "8.08"),
        (1000, "82.00", "80.00"),
        (1001, "82.05", "50.05"),
    ],
)
def test_tier_boundaries(q: int, graduated: str, volume: str) -> None:
    assert GRAD.total(D(q)) == D(graduated)
    assert VOL.total(D(q)) == D(volume)


def test_flat_fee_per_tier() -> None:
    c = Charge(ChargeModel.GRADUATED, tiers=(Tier(D(10), D(0), D(50)), Tier(None, D(2), D(20))))
    assert [c.total(D(q)) for q in (0, 1, 10, 11, 15)] == [D(0), D(50), D(50), D(72), D(80)]
    v = Charge(ChargeModel.VOLUME, tiers=(Tier(D(10), D(0), D(50)), Tier(None, D(1), D(100))))
    assert [v.total(D(q)) for q in (0, 5, 11)] == [D(0), D(50), D(111)]


def test_package_rounding() -> None:
    up = Charge(ChargeModel.PACKAGE, package_size=D(1000), package_price=D(5))
    down = Charge(ChargeModel.PACKAGE, package_size=D(1000), package_price=D(5), package_round_up=False)
    assert [up.total(D(q)) for q in (0, 1, 1000, 1001)] == [D(0), D(5), D(5), D(10)]
    assert [down.total(D(q)) for q in (0, 999, 1000, 1999)] == [D(0), D(0), D(5), D(5)]


def test_percentage() -> None:
    assert Charge(ChargeModel.PERCENTAGE, percent=D("12.5")).total(D("200.00")) == D("25.000")


tiers = st.lists(st.integers(1, 500), min_size=0, max_size=4, unique=True).flatmap(
    lambda bounds: st.tuples(
        *[
            st.builds(Tier, st.just(D(b)), st.decimals(0, 5, places=3), st.decimals(0, 20, places=2))
            for b in sorted(bounds)
        ],
        st.builds(Tier, st.none(), st.decimals(0, 5, places=3), st.decimals(0, 20, places=2)),
    )
)
quantities = st.lists(st.integers(0, 300).map(D), min_size=1, max_size=30)


@given(tiers, st.integers(0, 2000), st.integers(0, 2000))
def test_graduated_never_decreases_as_quantity_grows(t: tuple[Tier, ...], a: int, b: int) -> None:
    c = Charge(ChargeModel.GRADUATED, tiers=t)
    lo, hi = sorted((a, b))
    assert c.total(D(lo)) <= c.total(D(hi))


@given(tiers, quantities)
def test_graduated_lines_add_up_to_the_cycle_total(t: tuple[Tier, ...], qs: list[D]) -> None:
    c = Charge(ChargeModel.GRADUATED, tiers=t)
    used, lines = D(0), []
    for q in qs:
        lines.append(c.marginal(used, q))
        used += q
    assert sum(lines) == c.total(used)


@given(tiers, quantities, st.sampled_from(list(ChargeModel)))
def test_amounts_are_never_negative(t: tuple[Tier, ...], qs: list[D], model: ChargeModel) -> None:
    c = Charge(model, unit=D("0.01"), tiers=t, package_size=D(7), package_price=D(3), percent=D(10))
    used = D(0)
    for q in qs:
        assert c.marginal(used, q) >= 0
        assert c.total(used + q) >= 0
        used += q
