"""The dashboard's pages: each one runs the same reports as the JSON API and lays them out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from omnimeter.reports.api import PARAMS
from omnimeter.reports.api import request_of as api_request_of
from omnimeter.reports.catalog import run_report
from omnimeter.reports.model import Request
from omnimeter.reports.scope import Scope
from omnimeter.reports.web.html import chart, e, filters, notice, progress, table
from omnimeter.sinks.clickhouse import ClickHouseStore

Doc = dict[str, Any]
Query = Mapping[str, str]


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


class Page:
    """One page build: runs reports for the signed-in scope, collects the HTML."""

    def __init__(self, store: ClickHouseStore, scope: Scope, query: Query, tenants: list[tuple[str, str]]) -> None:
        self.store, self.scope, self.query, self.tenants = store, scope, query, tenants

    def report(self, name: str) -> Doc:
        return run_report(self.store, name, request_of(self.query), self.scope).to_json()

    def export(self, name: str, section: str) -> str:
        return f"/ui/export/{name}/{section}.csv?{urlencode({k: v for k, v in self.query.items() if v})}"

    def tables(self, name: str, doc: Doc) -> str:
        return "".join(table(s, rows, self.export(name, s)) for s, rows in doc["sections"].items())

    def head(self, doc: Doc, extra: str = "") -> str:
        return filters(self.query, self.tenants, extra) + notice(doc)


def overview(p: Page) -> str:
    services = p.report("services")
    usage = p.report("usage")
    by = services["sections"]["by_service"]
    cost_chart = chart("cost-by-service", "bar", [r["service"] for r in by], [("cost", [r["cost"] for r in by])])
    periods: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    prev_label: dict[str, str] = {}
    for r in usage["sections"]["usage"]:
        periods[r["period"]][0] += Decimal(r["cost"])
        periods[r["period"]][1] += Decimal(r["previous_cost"])
        prev_label[r["period"]] = r["previous_period"] or ""
    keys = sorted(periods)
    over_time = chart(
        "usage-over-time", "bar", keys,
        [("this period", [periods[k][0] for k in keys]), ("previous period", [periods[k][1] for k in keys])],
    )  # fmt: skip
    total = sum((Decimal(r["cost"]) for r in by), Decimal(0))
    return (
        p.head(services)
        + f'<div class="cards"><div class="card"><span>estimated cost</span><b id="total-cost">{e(total)}</b></div>'
        + "".join(f'<div class="card"><span>{e(r["service"])}</span><b>{e(r["cost"])}</b></div>' for r in by[:6])
        + "</div>"
        + f'<div class="charts"><div><h2>cost by service</h2>{cost_chart}</div>'
        + f"<div><h2>cost over time, beside the previous period</h2>{over_time}</div></div>"
        + table("by_service", by, p.export("services", "by_service"))
    )


def users(p: Page) -> str:
    doc = p.report("users")
    s = doc["sections"]
    per_user: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in s["user_channels"]:
        per_user[r["user_id"]].append(r)
    details = {
        u: "<table class='inner'><tr><th>channel</th><th>activity</th><th>cost</th></tr>"
        + "".join(
            f"<tr><td>{e(r['channel'])}</td><td>{e(r['activity'])}</td><td>{e(r['cost'])}</td></tr>" for r in rows
        )
        + "</table>"
        for u, rows in per_user.items()
    }
    roles = "".join(
        f'<div class="card role"><span>{e(r["role"])}</span><b>{e(r["users"])}</b>'
        f"<i>{e(r['active_users'])} active</i></div>"
        for r in s["users_by_role"]
    )
    return (
        p.head(doc)
        + f'<div class="cards" id="roles">{roles}</div>'
        + table("users", s["users"], p.export("users", "users"), details=details, detail_key="user_id")
        + table("user_channels", s["user_channels"], p.export("users", "user_channels"))
    )


def services(p: Page) -> str:
    doc = p.report("services")
    return p.head(doc) + p.tables("services", doc)


def whatsapp(p: Page) -> str:
    doc = p.report("whatsapp")
    acc: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for r in doc["sections"]["messages"]:
        acc[r["account"]][0] += Decimal(r["inbound"])
        acc[r["account"]][1] += Decimal(r["outbound_sent"])
    keys = sorted(acc)
    graph = chart(
        "wa-in-out", "bar", keys, [("inbound", [acc[k][0] for k in keys]), ("outbound", [acc[k][1] for k in keys])]
    )
    return p.head(doc) + f"<h2>inbound and outbound per account</h2>{graph}" + p.tables("whatsapp", doc)


def resellers(p: Page) -> str:
    with_expenses = p.query.get("with_expenses") == "true"
    doc = p.report("resellers")
    box = (
        f'<label><input type="checkbox" name="with_expenses" value="true" id="with_expenses"'
        f"{' checked' if with_expenses else ''}> only companies with expenses</label>"
    )
    return p.head(doc, box) + p.tables("resellers", doc)


def billing_units(p: Page) -> str:
    doc = p.report("billing-units")
    return p.head(doc) + p.tables("billing-units", doc)


def allocation(p: Page) -> str:
    q = p.query
    amount = q.get("amount", "")
    by = q.get("by", "billing_unit")
    meter = q.get("meter", "whatsapp.template.")
    by_opts = "".join(
        f"<option{' selected' if b == by else ''}>{b}</option>" for b in ("billing_unit", "team", "queue", "bot_id")
    )
    form = (
        f'<label>Amount <input name="amount" id="amount" value="{e(amount)}" placeholder="1200"></label>'
        f'<label>Across <select name="by" id="by">{by_opts}</select></label>'
        f'<label>By share of <input name="meter" id="meter" value="{e(meter)}"></label>'
    )
    if not amount:
        doc = p.report("services")
        return p.head(doc, form) + '<p class="hint">Enter an amount (e.g. a carrier invoice) to split it.</p>'
    doc = p.report("allocation")
    return p.head(doc, form) + p.tables("allocation", doc)


def cycle(p: Page) -> str:
    doc = p.report("cycle")
    s = doc["sections"]
    bars = "".join(
        progress(f"commitment {r['meter']}", r["used_percent"], f"{r['used']} of {r['included']} used", f"commit-{i}")
        for i, r in enumerate(s["commitments"])
    ) + "".join(
        progress("carrier credit", r["used_percent"], f"{r['spent']} of {r['credit']} {r['currency']} spent", "credit")
        for r in s["credit"]
    )
    return p.head(doc) + f'<div class="bars">{bars}</div>' + p.tables("cycle", doc)


PAGE_BUILDERS: dict[str, Callable[[Page], str]] = {
    "overview": overview,
    "users": users,
    "services": services,
    "whatsapp": whatsapp,
    "resellers": resellers,
    "billing-units": billing_units,
    "allocation": allocation,
    "cycle": cycle,
}
TITLES = {
    "overview": "Consumption overview",
    "users": "User consumption",
    "services": "Other services consumption",
    "whatsapp": "WhatsApp statistics",
    "resellers": "Reseller and companies",
    "billing-units": "Billing units",
    "allocation": "Cost allocation",
    "cycle": "Billing cycle",
}
