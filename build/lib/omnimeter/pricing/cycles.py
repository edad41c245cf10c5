"""Billing cycles: monthly or yearly, anchored on the tenant's signup date, in the tenant's time zone.

A cycle starts at local midnight of the anchor day. When a month lacks the anchor day (31st, 30th,
29 Feb), the cycle starts on that month's last day and returns to the anchor day the month after.
A late event belongs to the cycle of its event time.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from omnimeter.schemas.types import Period


@dataclass(frozen=True, slots=True)
class Cycle:
    start: datetime  # aware, tenant-local midnight
    end: datetime  # exclusive

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end

    @property
    def key(self) -> str:
        return self.start.date().isoformat()


def _anchored(year: int, month: int, anchor_day: int) -> date:
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    idx = year * 12 + (month - 1) + n
    return idx // 12, idx % 12 + 1


def cycle_start_date(signup: date, on: date, period: Period) -> date:
    """The local date the cycle containing local date `on` starts."""
    step = 1 if period is Period.MONTHLY else 12
    if period is Period.YEARLY:
        y = on.year
        start = _anchored(y, signup.month, signup.day)
        return start if start <= on else _anchored(y - 1, signup.month, signup.day)
    y, m = on.year, on.month
    start = _anchored(y, m, signup.day)
    if start > on:
        y, m = _add_months(y, m, -step)
        start = _anchored(y, m, signup.day)
    return start


def _next_start(signup: date, start: date, period: Period) -> date:
    step = 1 if period is Period.MONTHLY else 12
    y, m = _add_months(start.year, start.month, step)
    return _anchored(y, m, signup.day)


def cycle_of(at: datetime, signup: date, period: Period, tz: str) -> Cycle:
    """The billing cycle that contains the instant `at` (aware)."""
    if at.tzinfo is None:
        raise ValueError("cycle_of needs an aware datetime")
    zone = ZoneInfo(tz)  # ZoneInfo caches its instances
    return _cycle_containing(at.astimezone(zone).date(), signup, period, tz)


@lru_cache(maxsize=65_536)
def _cycle_containing(local_day: date, signup: date, period: Period, tz: str) -> Cycle:
    """The cycle of a local date (pure, so cached: rating asks once per event, for few distinct days)."""
    zone = ZoneInfo(tz)
    start = cycle_start_date(signup, local_day, period)
    end = _next_start(signup, start, period)
    return Cycle(datetime.combine(start, time(), zone), datetime.combine(end, time(), zone))
