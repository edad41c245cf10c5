"""Billing cycles anchored on the signup date, in the tenant's time zone, month ends and leap years."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from omnimeter.pricing.cycles import cycle_of
from omnimeter.schemas.types import Period

M, Y = Period.MONTHLY, Period.YEARLY


def local(y: int, m: int, d: int, tz: str = "UTC") -> datetime:
    return datetime(y, m, d, tzinfo=ZoneInfo(tz))


@pytest.mark.parametrize(
    ("signup", "at", "start", "end"),
    [
        (date(2026, 1, 15), local(2026, 3, 14), date(2026, 2, 15), date(2026, 3, 15)),
        (date(2026, 1, 15), local(2026, 3, 15), date(2026, 3, 15), date(2026, 4, 15)),
        (date(2026, 1, 31), local(2026, 2, 27), date(2026, 1, 31), date(2026, 2, 28)),  # Feb has no 31st
        (date(2026, 1, 31), local(2026, 2, 28), date(2026, 2, 28), date(2026, 3, 31)),  # back to the 31st
        (date(2026, 1, 31), local(2026, 4, 30), date(2026, 4, 30), date(2026, 5, 31)),
        (date(2024, 1, 30), local(2024, 2, 29), date(2024, 2, 29), date(2024, 3, 30)),  # leap February
        (date(2025, 12, 31), local(2026, 1, 5), date(2025, 12, 31), date(2026, 1, 31)),  # across the year
    ],
)
def test_monthly(signup: date, at: datetime, start: date, end: date) -> None:
    c = cycle_of(at, signup, M, "UTC")
    assert (c.start.date(), c.end.date()) == (start, end)
    assert c.contains(at)


def test_yearly_anchored_on_29_february() -> None:
    signup = date(2024, 2, 29)
    c = cycle_of(local(2025, 3, 1), signup, Y, "UTC")
    assert (c.start.date(), c.end.date()) == (date(2025, 2, 28), date(2026, 2, 28))
    c = cycle_of(local(2028, 2, 29), signup, Y, "UTC")
    assert (c.start.date(), c.end.date()) == (date(2028, 2, 29), date(2029, 2, 28))
    c = cycle_of(local(2025, 2, 27), signup, Y, "UTC")
    assert c.start.date() == date(2024, 2, 29)


def test_cycle_boundary_is_tenant_local_midnight() -> None:
    # 2026-03-01 03:30 UTC is still 2026-02-28 22:30 in Bogotá (UTC-5): the February cycle
    at = datetime(2026, 3, 1, 3, 30, tzinfo=UTC)
    c = cycle_of(at, date(2025, 6, 1), M, "America/Bogota")
    assert c.start == datetime(2026, 2, 1, tzinfo=ZoneInfo("America/Bogota"))
    assert cycle_of(at, date(2025, 6, 1), M, "UTC").start.date() == date(2026, 3, 1)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        cycle_of(datetime(2026, 1, 1), date(2026, 1, 1), M, "UTC")  # noqa: DTZ001
