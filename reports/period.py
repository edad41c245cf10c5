"""Report periods: today, this week, this month or a custom range, in a time zone.

A period of whole local days reads the day rollups (each tenant's own local days). A custom range given
with times is a half-open range of instants; it reads hour rollups when both ends fall on whole hours,
minute rollups otherwise (ends must be whole minutes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from omnimeter.errors import BadInput


class PeriodError(BadInput, ValueError):
    """A period that cannot be understood; the message says which parameter and why."""


class GroupBy(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Named(StrEnum):
    TODAY = "today"
    THIS_WEEK = "this-week"
    THIS_MONTH = "this-month"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    """Either local days [first, last] (instants None) or instants [start, end) in `tz`."""

    first: date
    last: date
    tz: str
    start: datetime | None = None
    end: datetime | None = None

    @property
    def whole_days(self) -> bool:
        return self.start is None

    def previous(self) -> Period:
        """The period just before, of the same length (whole months shift by months)."""
        if self.whole_days:
            if self.first.day == 1 and (self.last + timedelta(days=1)).day == 1:
                months = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
                first = _add_months(self.first, -months)
                return Period(first, self.first - timedelta(days=1), self.tz)
            days = (self.last - self.first).days + 1
            return Period(self.first - timedelta(days=days), self.first - timedelta(days=1), self.tz)
        assert self.start is not None and self.end is not None
        span = self.end - self.start
        return _instants(self.start - span, self.start, self.tz)

    def as_instants(self) -> Period:
        """Whole local days of `tz` as the range of instants they cover."""
        if not self.whole_days:
            return self
        z = ZoneInfo(self.tz)
        start = datetime.combine(self.first, time(0), z)
        return _instants(start, datetime.combine(self.last + timedelta(days=1), time(0), z), self.tz)

    def as_dict(self) -> dict[str, str]:
        if self.whole_days:
            return {"from": self.first.isoformat(), "to": self.last.isoformat(), "time_zone": self.tz, "kind": "days"}
        assert self.start is not None and self.end is not None
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "time_zone": self.tz, "kind": "instants"}


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return date(y, m + 1, 1)


def _instants(start: datetime, end: datetime, tz: str) -> Period:
    z = ZoneInfo(tz)
    return Period(start.astimezone(z).date(), (end - timedelta(microseconds=1)).astimezone(z).date(), tz, start, end)


def _parse(value: str, name: str, tz: str) -> date | datetime:
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PeriodError(f"{name}: expected YYYY-MM-DD or an ISO 8601 date-time, got {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    if dt.second or dt.microsecond:
        raise PeriodError(f"{name}: times must be whole minutes, got {value!r}")
    return dt.astimezone(UTC)


def resolve(period: str | None, start: str | None, end: str | None, tz: str, now: datetime | None = None) -> Period:
    """--period today|this-week|this-month|custom with --from/--to. Dates are local days, both included;
    date-times are instants, `to` excluded."""
    try:
        zone = ZoneInfo(tz)
    except Exception:
        raise PeriodError(f"time_zone: unknown time zone {tz!r}") from None
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    if start or end:
        if period not in (None, Named.CUSTOM.value):
            raise PeriodError(f"period: --from/--to go with period 'custom', not {period!r}")
        if not (start and end):
            raise PeriodError("period: a custom period needs both from and to")
        a, b = _parse(start, "from", tz), _parse(end, "to", tz)
        if isinstance(a, datetime) != isinstance(b, datetime):
            raise PeriodError("period: from and to must both be dates or both be date-times")
        if isinstance(a, datetime) and isinstance(b, datetime):
            if b <= a:
                raise PeriodError("to: must be after from")
            if a.time() == time(0) and b.time() == time(0) and tz == "UTC":
                return Period(a.date(), b.date() - timedelta(days=1), tz)
            return _instants(a, b, tz)
        assert isinstance(a, date) and isinstance(b, date)
        if b < a:
            raise PeriodError("to: must not be before from")
        return Period(a, b, tz)
    try:
        named = Named(period or Named.TODAY.value)
    except ValueError:
        raise PeriodError(f"period: expected one of {', '.join(n.value for n in Named)}, got {period!r}") from None
    if named is Named.TODAY:
        return Period(today, today, tz)
    if named is Named.THIS_WEEK:
        monday = today - timedelta(days=today.weekday())
        return Period(monday, monday + timedelta(days=6), tz)
    if named is Named.THIS_MONTH:
        first = today.replace(day=1)
        return Period(first, _add_months(first, 1) - timedelta(days=1), tz)
    raise PeriodError("period: 'custom' needs from and to")


def bucket_start(d: date, group_by: GroupBy) -> date:
    if group_by is GroupBy.WEEK:
        return d - timedelta(days=d.weekday())
    if group_by is GroupBy.MONTH:
        return d.replace(day=1)
    return d
