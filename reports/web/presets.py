"""The dashboard's period presets and form values, read into the API's parameters.

`last-month` and `previous-cycle` become a custom period of local days (so the page's numbers are the
API's for `period=custom&from=..&to=..`); the datetime-local inputs (`2026-11-01T00:00`) are sent as the
dates they stand for when both ends are midnights (`to` is the end instant, so the day before it is the
last day included), else as date-times (the API's instants, `to` excluded).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from omnimeter.pricing.cycles import cycle_of
from omnimeter.reports.period import PeriodError
from omnimeter.schemas.directory import Directory, Tenant

PRESETS = ("last-month", "previous-cycle")


def _midnight(value: str) -> date | None:
    if len(value) >= 16 and value[10] == "T" and value[11:16] == "00:00" and value[16:].strip(":0") == "":
        return date.fromisoformat(value[:10])
    return None


def _one_tenant(query: Mapping[str, str], directory: Directory, allowed: list[str]) -> Tenant | None:
    wanted = query.get("tenant") or (allowed[0] if len(allowed) == 1 else "")
    return next((t for t in directory.tenants if t.id == wanted), None)


def api_query(
    query: Mapping[str, str], directory: Directory, allowed: list[str], now: datetime | None = None
) -> dict[str, str]:
    """The parameters the API is asked for this page's form (`allowed`: the tenants in the viewer's scope)."""
    q = {k: v for k, v in query.items() if v}
    at = now or datetime.now(UTC)
    period = q.get("period")
    if period in PRESETS:
        tenant = _one_tenant(q, directory, allowed)
        tz = q.get("tz") or (tenant.timezone if tenant else "UTC")
        if period == "last-month":
            first_this = at.astimezone(ZoneInfo(tz)).date().replace(day=1)
            last = first_this - timedelta(days=1)
            first = last.replace(day=1)
        else:
            if tenant is None:
                raise PeriodError("tenant: the previous cycle is one tenant's; choose a tenant")
            current = cycle_of(at, tenant.signup, tenant.cycle, tenant.timezone)
            prev = cycle_of(current.start - timedelta(seconds=1), tenant.signup, tenant.cycle, tenant.timezone)
            zone = ZoneInfo(tenant.timezone)
            first = prev.start.astimezone(zone).date()
            last = (prev.end.astimezone(zone) - timedelta(seconds=1)).date()
        q.update({"period": "custom", "from": first.isoformat(), "to": last.isoformat()})
        return q
    if period == "custom" and "from" in q and "to" in q:
        a, b = _midnight(q["from"]), _midnight(q["to"])
        if a is not None and b is not None:
            q["from"], q["to"] = a.isoformat(), (b - timedelta(days=1)).isoformat()
            if b <= a:
                raise PeriodError("to: must be after from")
    return q


def dtlocal(value: str, end: bool = False) -> str:
    """A period end as the datetime-local input shows it: a date `to` (included) ends at the next midnight."""
    if len(value) == 10:
        try:
            d = date.fromisoformat(value)
        except ValueError:
            return ""
        return f"{(d + timedelta(days=1) if end else d).isoformat()}T00:00"
    return value[:16] if len(value) >= 16 and value[10] == "T" else ""
