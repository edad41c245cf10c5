"""The billing cycles around a chosen one, for navigation: past cycles back to the signup (at most
`MAX_PAST`), the running cycle and the next one. Pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from omnimeter.pricing.cycles import Cycle, cycle_of
from omnimeter.schemas.types import Period

MAX_PAST = 24
_TICK = timedelta(microseconds=1)


def previous(c: Cycle, signup: date, period: Period, tz: str) -> Cycle:
    return cycle_of(c.start - _TICK, signup, period, tz)


def following(c: Cycle, signup: date, period: Period, tz: str) -> Cycle:
    return cycle_of(c.end, signup, period, tz)


def state(c: Cycle, now: datetime) -> str:
    """past, current (running now) or future."""
    if c.end <= now:
        return "past"
    return "current" if c.start <= now else "future"


def cycles_around(now: datetime, signup: date, period: Period, tz: str) -> list[Cycle]:
    """Oldest first: up to MAX_PAST cycles before the running one (none starting before the signup's
    cycle), the running cycle, the next."""
    current = cycle_of(now, signup, period, tz)
    first = cycle_of(datetime.combine(signup, datetime.min.time(), current.start.tzinfo), signup, period, tz)
    out = [current]
    while len(out) <= MAX_PAST and out[0].start > first.start:
        out.insert(0, previous(out[0], signup, period, tz))
    return [*out, following(current, signup, period, tz)]
