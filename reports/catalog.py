"""The administrators' reports by name: one entry point for the CLI (`omnimeter report NAME`) and the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from omnimeter.reports import (
    alerts_report,
    cost_reports,
    cycle_report,
    lines_report,
    margin_report,
    reseller_report,
    usage_reports,
)
from omnimeter.reports.model import Context, Report, Request
from omnimeter.reports.period import GroupBy, Period, PeriodError, resolve
from omnimeter.reports.query import Agg, newest
from omnimeter.reports.reference import load_reference
from omnimeter.reports.scope import PLATFORM, Forbidden, Scope, tenants_for
from omnimeter.reports.section import Section
from omnimeter.sinks.clickhouse import ClickHouseStore

Builder = Callable[[ClickHouseStore, Context], tuple[list[Section], list[Agg]]]

REPORTS: dict[str, tuple[Builder, str]] = {
    "users": (usage_reports.users, "Users by role; per user activity and cost, with a per-channel breakdown"),
    "services": (usage_reports.services, "Quantity and cost per service and meter"),
    "usage": (usage_reports.usage, "Cost and quantity per service over time, beside the previous period"),
    "whatsapp": (usage_reports.whatsapp, "WhatsApp inbound/outbound per account over time; charged vs free"),
    "resellers": (reseller_report.resellers, "Per dependent company: messaging, chat, telephony, bot; both prices"),
    "billing-units": (cost_reports.billing_units, "Usage and cost per billing unit"),
    "allocation": (cost_reports.allocation, "Split an amount across cost centers by their share of a meter"),
    "cycle": (cycle_report.cycle, "Billing cycle: commitments, estimated charges, carrier credit, carry-over"),
    "margin": (
        margin_report.margin,
        "Platform only: gross margin (price to platform - cost) per tenant, reseller, "
        "service, destination and cycle; negative-margin lines",
    ),
    "alerts": (
        alerts_report.alerts,
        "Alerts published: cycle spend, commitment and credit thresholds, spend per "
        "destination prefix, pumping (with the evidence)",
    ),
    "lines": (lines_report.lines, "The billable lines behind a total, a page at a time"),
    "event": (lines_report.event, "One billable line and the stored event it was rated from"),
}


class UnknownReport(ValueError):
    pass


MAX_PERIOD_DAYS = 1_830  # five years
MAX_BUCKETS = 400
_BUCKET_DAYS = {GroupBy.DAY: 1, GroupBy.WEEK: 7, GroupBy.MONTH: 28}


BUCKETED = frozenset({"usage", "whatsapp"})  # the reports whose rows are time buckets


def check_size(period: Period, group_by: GroupBy | None) -> None:
    """Refuses, before any query, a period or a grouping that would build more rows than a report needs."""
    if period.whole_days:
        days = (period.last - period.first).days + 1
    else:
        assert period.start is not None and period.end is not None
        days = -(-(period.end - period.start).total_seconds() // 86_400)
    if days > MAX_PERIOD_DAYS:
        raise PeriodError(f"period: at most {MAX_PERIOD_DAYS} days (five years), got {days:.0f} days")
    if group_by is None:
        return
    buckets = -(-days // _BUCKET_DAYS[GroupBy(group_by)])
    if buckets > MAX_BUCKETS:
        raise PeriodError(
            f"group_by: {buckets:.0f} {GroupBy(group_by).value} buckets, at most {MAX_BUCKETS}; "
            "group by a longer bucket or shorten the period"
        )


def run_report(
    store: ClickHouseStore, name: str, request: Request, scope: Scope = PLATFORM, now: datetime | None = None
) -> Report:
    if name not in REPORTS:
        raise UnknownReport(f"report: unknown report {name!r}; one of {', '.join(REPORTS)}")
    builder, _doc = REPORTS[name]
    if not scope.may_read(name):
        raise Forbidden(f"scope {scope} ({scope.role.value}) may not read the {name} report")
    ref = load_reference(store)
    tenants = tenants_for(ref.directory, scope, request.tenant, request.reseller)
    if name == "resellers":
        tenants = [t for t in tenants if t.reseller]
    tz = request.tz or (tenants[0].timezone if len(tenants) == 1 else "UTC")
    period = resolve(request.period, request.start, request.end, tz, now)
    if name != "cycle" and any(t.timezone != tz for t in tenants):
        period = period.as_instants()  # several zones: the same hours for every tenant, none left out
    check_size(period, request.group_by if name in BUCKETED else None)
    ctx = Context(ref.directory, ref.books, tenants, period, request, scope)
    sections, rows = builder(store, ctx)
    report = Report(name, str(scope), [t.id for t in tenants], period.as_dict(), sections, newest(rows))
    report.extra = {"directory_version": ref.directory_version, "prices_version": ref.prices_version}
    if name == "cycle":
        start, end = cycle_report.cycle_period(ctx)
        report.period = {"from": start.isoformat(), "to": end.isoformat(), "time_zone": tz, "kind": "cycle"}
    return report
