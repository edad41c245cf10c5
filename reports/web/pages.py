"""The dashboard's pages: each one runs the same reports as the JSON API and gives its template
(reports/web/templates) what to lay out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from omnimeter.reports import labels
from omnimeter.reports.api import PARAMS
from omnimeter.reports.api import request_of as api_request_of
from omnimeter.reports.catalog import MAX_BUCKETS, run_report
from omnimeter.reports.model import Request
from omnimeter.reports.scope import Scope
from omnimeter.reports.web import charts
from omnimeter.sinks.clickhouse import ClickHouseStore

Doc = dict[str, Any]
Query = Mapping[str, str]
View = tuple[str, dict[str, Any]]  # a template and its variables
LINES_KEEP = ("period", "from", "to", "tz", "tenant", "reseller")  # the filters a drill-down keeps
DRILLED = ("by_service", "by_meter", "by_unit", "by_unit_meter")  # tables whose totals row opens its lines


def request_of(query: Query) -> Request:
    """The API's reading of the page's parameters. A form sends every field: empty ones are left out,
    and its dates count only with the custom period."""
    custom = query.get("period") == "custom"
    return api_request_of(
        {
            k: [v]
            for k, v in query.items()
            if v and k in PARAMS and k != "format" and (custom or k not in ("from", "to"))
        }
    )


def chart_spec(kind: str, labels: list[Any], datasets: list[tuple[str, list[Any]]]) -> dict[str, Any]:
    return {
        "type": kind,
        "labels": [str(x) for x in labels],
        "datasets": [{"label": name, "data": [float(v) for v in data]} for name, data in datasets],
    }


class Page:
    """One page build: runs reports for the signed-in scope."""

    def __init__(
        self, store: ClickHouseStore, scope: Scope, query: Query, tenants: list[tuple[str, str]],
        api: Query | None = None,
    ) -> None:  # fmt: skip
        """`query` is the form as sent (what the filters show); `api` the API parameters it stands for
        (presets resolved: reports/web/presets.py), `query` itself when not given."""
        self.store, self.scope, self.query, self.tenants = store, scope, query, tenants
        self.api = query if api is None else api

    def report(self, name: str, **override: str) -> Doc:
        """A report for the page's parameters (`override`: some of them replaced, e.g. group_by)."""
        return run_report(self.store, name, request_of({**self.api, **override}), self.scope).to_json()

    def export(self, name: str, section: str) -> str:
        return f"/ui/export/{name}/{section}.csv?{urlencode({k: v for k, v in self.query.items() if v})}"

    def lines_href(self, **only: str) -> str:
        """The billable lines behind a total of this page: the same period, zone, tenant and reseller, and
        `only` (a service, meter or currency) narrowing them."""
        q = {k: self.query.get(k, "") for k in LINES_KEEP}
        if q["period"] != "custom":
            q["from"] = q["to"] = ""
        return f"/ui/lines?{urlencode({k: v for k, v in {**q, **only}.items() if v})}"

    def drill(self, doc: Doc) -> dict[str, Any]:
        """Links from the totals of a page's tables (and their service and meter rows) to their lines."""
        total = self.lines_href()
        out: dict[str, Any] = {"total": total, "totals": {s: total for s in DRILLED if s in doc["sections"]}}
        for s, rows in doc["sections"].items():
            key = "service" if s == "by_service" else "meter"
            # the margin report's by_service is per meter and its `cost` is the suppliers' (not the lines')
            if s in ("by_service", "by_meter") and doc.get("report") != "margin" and rows and key in rows[0]:
                hrefs = {r[key]: self.lines_href(**{key: r[key]}) for r in rows}
                out[s] = {c: (hrefs, key) for c in ("lines_cost", "cost")}
        return out

    def view(self, template: str, name: str, doc: Doc, **extra: Any) -> View:
        exports = {s: self.export(name, s) for s in doc["sections"]}
        return template, {"doc": doc, "exports": exports, "query": self.query, "tenants": self.tenants,
                          "drill": self.drill(doc), **extra}  # fmt: skip


def overview(p: Page) -> View:
    services = p.report("services")
    by = services["sections"]["by_service"]
    period = services["period"]
    first, last = charts.period_days(period)
    group = p.api.get("group_by", "month")
    daily = (last - first).days < MAX_BUCKETS  # aligned buckets are cut from days (else the report's own)
    usage = p.report("usage", group_by="day") if daily else p.report("usage")
    rows = usage["sections"]["usage"]
    today = datetime.now(ZoneInfo(period["time_zone"])).date()
    usage_by = [r for r in by if r["service"] not in charts.RECURRING]
    recurring = [r for r in by if r["service"] in charts.RECURRING]
    cost_chart = chart_spec("bar", [labels.service(r["service"]) for r in usage_by],
                            [("cost", [r["cost"] for r in usage_by])])  # fmt: skip
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in by:
        kind = "recurring" if r["service"] in charts.RECURRING else "usage"
        totals[r["currency"]][kind] += Decimal(r["cost"])
        totals[r["currency"]]["total"] += Decimal(r["cost"])
    return p.view(
        "overview.html", "services", services, by_service=by, usage_by=usage_by, recurring=recurring,
        totals={c: dict(v) for c, v in sorted(totals.items(), key=lambda kv: -kv[1]["total"])},
        total_hrefs={c: p.lines_href(currency=c if len(totals) > 1 else "") for c in totals},
        cost_chart=cost_chart, over_time=charts.comparison(rows, period, group if daily else "day", today),
        trend=charts.service_trend(rows, period, group if daily else "day", today), aligned=daily,
    )  # fmt: skip


def users(p: Page) -> View:
    doc = p.report("users")
    per_user: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in doc["sections"]["user_channels"]:
        per_user[r["user_id"]].append(r)
    return p.view("users.html", "users", doc, details=dict(per_user))


def services(p: Page) -> View:
    return p.view("tables.html", "services", p.report("services"))


def whatsapp(p: Page) -> View:
    doc = p.report("whatsapp")
    acc: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for r in doc["sections"]["messages"]:
        acc[r["account"]][0] += Decimal(r["inbound"])
        acc[r["account"]][1] += Decimal(r["outbound_sent"])
    keys = sorted(acc)
    graph = chart_spec("bar", keys, [("inbound", [acc[k][0] for k in keys]), ("outbound", [acc[k][1] for k in keys])])
    # over time in the overview's buckets (counted from the period's first day), read by day
    period = doc["period"]
    first, last = charts.period_days(period)
    daily = (last - first).days < MAX_BUCKETS
    rows = p.report("whatsapp", group_by="day")["sections"]["messages"] if daily else doc["sections"]["messages"]
    today = datetime.now(ZoneInfo(period["time_zone"])).date()
    columns = (("inbound", "inbound"), ("outbound_sent", "outbound sent"), ("templates_charged", "templates charged"),
               ("templates_free", "templates free"))  # fmt: skip
    over_time = charts.counts_over_time(
        rows, period, p.api.get("group_by", "month") if daily else "day", today, columns
    )
    return p.view("whatsapp.html", "whatsapp", doc, graph=graph, over_time=over_time)


def resellers(p: Page) -> View:
    doc = p.report("resellers")
    companies = doc["sections"]["companies"]
    fallback = {}  # sections without a currency column: the companies' (when they share one per party)
    for party in ("platform", "reseller"):
        found = {r[f"currency_{party}"] for r in companies}
        if len(found) == 1:
            fallback[f"currency_{party}"] = found.pop()
    if "currency_reseller" in fallback:
        fallback["currency"] = fallback["currency_reseller"]  # a price_* column is the price to the reseller
    return p.view("resellers.html", "resellers", doc, with_expenses=p.query.get("with_expenses") == "true",
                  fallback=fallback)  # fmt: skip


def billing_units(p: Page) -> View:
    return p.view("tables.html", "billing-units", p.report("billing-units"))


def allocation(p: Page) -> View:
    q = p.query
    amount = q.get("amount", "")
    form = {"amount": amount, "by": q.get("by", "billing_unit"), "meter": q.get("meter", "whatsapp.template.")}
    if not amount:
        return p.view("allocation.html", "services", p.report("services"), **form)
    return p.view("allocation.html", "allocation", p.report("allocation"), **form)


def cycle(p: Page) -> View:
    return p.view("cycle.html", "cycle", p.report("cycle"))


def margin(p: Page) -> View:
    """The platform's gross margin (price to platform - cost); the report refuses every other scope."""
    return p.view("tables.html", "margin", p.report("margin"))


def alerts(p: Page) -> View:
    """Alerts published for the viewer's tenants (thresholds crossed, pumping with its evidence)."""
    return p.view("tables.html", "alerts", p.report("alerts"))


PAGE_BUILDERS: dict[str, Callable[[Page], View]] = {
    "overview": overview,
    "users": users,
    "services": services,
    "whatsapp": whatsapp,
    "resellers": resellers,
    "billing-units": billing_units,
    "allocation": allocation,
    "cycle": cycle,
    "margin": margin,
    "alerts": alerts,
}
PAGES = (
    ("overview", "Overview"),
    ("users", "Users"),
    ("services", "Services"),
    ("whatsapp", "WhatsApp"),
    ("resellers", "Resellers"),
    ("billing-units", "Billing units"),
    ("allocation", "Allocation"),
    ("cycle", "Cycle"),
    ("margin", "Margin"),
    ("alerts", "Alerts"),
)
PAGE_REPORT = {"overview": "services", "billing-units": "billing-units"}  # else the page's name
TITLES = {
    "overview": "Consumption overview",
    "users": "User consumption",
    "services": "Other services consumption",
    "whatsapp": "WhatsApp statistics",
    "resellers": "Reseller and companies",
    "billing-units": "Billing units",
    "allocation": "Cost allocation",
    "cycle": "Billing cycle",
    "margin": "Gross margin (platform only)",
    "alerts": "Alerts",
}
