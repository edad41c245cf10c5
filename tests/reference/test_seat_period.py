"""Seats priced per the book's seat period (`billing.seat_period`). A seat is counted once per user and
billing cycle; a book whose seat prices are per month (`seat_period: month`) charges a yearly cycle for
each of its 12 months, as a monthly tenant pays 12 monthly cycles. Before this setting a yearly tenant's
seat was charged once a year at the monthly price (the issue's finding). Every amount is by hand:

    seats.active.agent per_unit 30.00 a month:
      yearly tenant, seat_period month: one agent in the cycle = 12 x 30.00 = 360.00
      yearly tenant, seat_period cycle (the default): 30.00 (the price is the cycle's)
      monthly tenant, seat_period month: 30.00 (one month per cycle)
    seats.active.agent graduated "up to 2 at 30.00, then 25.00" a month, seat_period month, yearly tenant,
    three agents: lines 12 x 30.00 = 360.00, 360.00, 12 x 25.00 = 300.00; the cycle charge
    12 x (2 x 30.00 + 25.00) = 12 x 85.00 = 1020.00 (tiers count users, each month's price x 12)
    volume, the same three agents: lines 1020.00 at the running tier, charge 12 x 3 x 25.00 = 900.00
    the reseller's price of a yearly dependent company (retail book, 40.00 a month): 480.00
"""

from __future__ import annotations

from decimal import Decimal as D

from omnimeter.pricing.cycle_charges import cycle_charges
from omnimeter.pricing.rating import MemoryState, Rater
from omnimeter.schemas.directory import parse_directory
from tests.reference.books import book, books, event

YEARLY = parse_directory(
    """
version: seats-1
resellers: [{id: r1, name: Reseller, currency: USD}]
tenants:
- {id: yearly, name: Yearly, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: yearly}
- {id: monthly, name: Monthly, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: monthly}
- {id: sub, name: Yearly sub, reseller: r1, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: yearly}
""",
    "seats-directory.yaml",
)
CYCLES = {t.id: t.cycle for t in YEARLY.tenants}
AGENT = "seats.active.agent"


def _seats(tenant: str, users: int, price_books: object) -> list[object]:
    rater = Rater(price_books, YEARLY, MemoryState())  # type: ignore[arg-type]
    lines = []
    for n in range(users):
        lines += rater.rate(event(tenant, "seat.active", {"user_id": f"u{n}", "role": "agent"}, n))
    return lines


def test_a_monthly_seat_price_charges_a_yearly_cycle_twelve_times() -> None:
    per_month = books(book("direct", {AGENT: {"unit": "30.00"}}, {"seat_period": "month"}))
    (line,) = _seats("yearly", 1, per_month)
    assert line.amount_platform == D("360.000000")  # type: ignore[attr-defined]
    (monthly,) = _seats("monthly", 1, per_month)
    assert monthly.amount_platform == D("30.000000")  # type: ignore[attr-defined]
    per_cycle = books(book("direct", {AGENT: {"unit": "30.00"}}))
    (old,) = _seats("yearly", 1, per_cycle)
    assert old.amount_platform == D("30.000000")  # type: ignore[attr-defined]


def test_graduated_seat_tiers_count_users_and_each_month_is_charged() -> None:
    tiers = {"model": "graduated", "tiers": [{"up_to": 2, "unit": "30.00"}, {"unit": "25.00"}]}
    b = books(book("direct", {AGENT: tiers}, {"seat_period": "month"}))
    lines = _seats("yearly", 3, b)
    assert [ln.amount_platform for ln in lines] == [D("360.000000"), D("360.000000"), D("300.000000")]  # type: ignore[attr-defined]
    (charge,) = cycle_charges(lines, b, CYCLES)  # type: ignore[arg-type]
    assert (charge.platform.lines_amount, charge.platform.charge, charge.platform.adjustment) == (
        D("1020.00"), D("1020.00"), D("0.00"))  # fmt: skip


def test_each_party_uses_its_own_books_seat_period() -> None:
    b = books(
        book("wholesale", {AGENT: {"unit": "30.00"}}),  # per cycle: 30.00 for the year
        book("retail", {AGENT: {"unit": "40.00"}}, {"seat_period": "month"}),  # 12 x 40.00
    )
    (line,) = _seats("sub", 1, b)
    assert (line.amount_platform, line.amount_reseller) == (D("30.000000"), D("480.000000"))  # type: ignore[attr-defined]


def test_a_volume_seat_price_charges_every_month_at_the_cycles_tier() -> None:
    # volume "up to 2 at 30.00, then 25.00" a month, 3 agents in a yearly cycle: lines at the running tier
    # 360.00 + 360.00 + 300.00 = 1020.00; the cycle charge 12 x 3 x 25.00 = 900.00; adjustment -120.00
    tiers = {"model": "volume", "tiers": [{"up_to": 2, "unit": "30.00"}, {"unit": "25.00"}]}
    b = books(book("direct", {AGENT: tiers}, {"seat_period": "month"}))
    (charge,) = cycle_charges(_seats("yearly", 3, b), b, CYCLES)  # type: ignore[arg-type]
    assert (charge.platform.lines_amount, charge.platform.charge, charge.platform.adjustment) == (
        D("1020.00"), D("900.00"), D("-120.00"))  # fmt: skip
