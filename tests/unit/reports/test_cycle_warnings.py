"""Cycle warnings: thresholds (80 % amber, 100 % red), overage cost and the run-rate forecast, with
expected numbers worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from omnimeter.reports.cycle_nav import cycles_around, state
from omnimeter.reports.cycle_warnings import Level, commitment_warning, credit_warning, forecast
from omnimeter.schemas.types import Period

D = Decimal
START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)  # 30 days


def test_levels_turn_amber_at_80_and_red_at_100_percent() -> None:
    assert Level.of(D("79.9")) is Level.OK
    assert Level.of(D("80.0")) is Level.WARNING
    assert Level.of(D("94.0")) is Level.WARNING  # the issue: green at 94 % was wrong
    assert Level.of(D("99.9")) is Level.WARNING
    assert Level.of(D("100.0")) is Level.EXCEEDED


def test_forecast_is_the_run_rate_to_the_cycles_end() -> None:
    # 10 days of 30 elapsed, 120 used: 120 * 30 / 10 = 360
    assert forecast(D(120), START, END, datetime(2026, 11, 11, tzinfo=UTC)) == D("360.00")
    # 7.5 days elapsed (180 h of 720 h), 47 used: 47 * 720 / 180 = 188
    assert forecast(D(47), START, END, datetime(2026, 11, 8, 12, tzinfo=UTC)) == D("188.00")
    # a closed cycle forecasts what it used
    assert forecast(D(47), START, END, datetime(2026, 12, 5, tzinfo=UTC)) == D(47)


def test_commitment_over_its_limit_costs_the_share_of_its_charge_beyond_it() -> None:
    # 500 included, 520 used, the meter's cycle charge 41.60 USD: 41.60 * 20 / 520 = 1.60
    w = commitment_warning("whatsapp.template.marketing", D(500), D(520), D("41.60"), "USD", D("780.00"))
    assert (w.used_percent, w.level, w.overage, w.overage_cost) == (D("104.0"), Level.EXCEEDED, D(20), D("1.60"))
    assert (w.forecast_percent, w.forecast_level) == (D("156.0"), Level.EXCEEDED)  # 780 / 500
    assert "over by 20, overage cost 1.60 USD" in w.message


def test_commitment_at_94_percent_warns_with_no_overage() -> None:
    # 470 of 500: 94.0 %, 6.0 % left
    w = commitment_warning("whatsapp.template.marketing", D(500), D(470), D("37.60"), "USD", D("470"))
    assert (w.level, w.overage, w.overage_cost) == (Level.WARNING, D(0), D("0.00"))
    assert "94.0 % used (470 of 500); 6.0 % left" in w.message


def test_credit_spent_beyond_it_is_the_overage_cost() -> None:
    # 250.00 credit, 262.345 spent → 262.35 (half-up); over by 12.35; 105 % used (262.35 / 250 = 104.94 → 104.9)
    w = credit_warning(D("250.00"), D("262.345"), "USD", D("300"))
    assert (w.used, w.overage_cost, w.used_percent, w.level) == (D("262.35"), D("12.35"), D("104.9"), Level.EXCEEDED)
    # the percent of the exact amount, as the credit section: 4.135 of 3.98 is 103.89 -> 103.9 (4.14 would be 104.0)
    assert credit_warning(D("3.98"), D("4.135"), "USD", D("4.135")).used_percent == D("103.9")


def test_cycles_listed_back_to_the_signup_and_one_ahead() -> None:
    now = datetime(2026, 12, 2, 10, tzinfo=UTC)
    cs = cycles_around(now, date(2026, 9, 15), Period.MONTHLY, "UTC")
    assert [c.start.date().isoformat() for c in cs] == ["2026-09-15", "2026-10-15", "2026-11-15", "2026-12-15"]
    assert [state(c, now) for c in cs] == ["past", "past", "current", "future"]
    many = cycles_around(now, date(2020, 1, 31), Period.MONTHLY, "UTC")
    assert len(many) == 26 and many[-2].start.date() == date(2026, 11, 30)  # 24 past, current, next
