"""The billing pages: the cycle (navigation, warnings, drill-down links), its printable statement, the
lines behind a total and the event behind a line. Each runs the same report as the JSON API."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from omnimeter.reports.web.pages import Page, View, chart_spec

LINE_COLUMNS = ("line_id", "event_time", "tenant_id", "meter", "quantity", "unit", "free_reason", "cost",
                "currency", "price_platform", "price_reseller")  # fmt: skip


def _href(page: str, query: dict[str, str]) -> str:
    return f"/ui/{page}?{urlencode({k: v for k, v in query.items() if v})}"


def _cycle_query(p: Page) -> dict[str, str]:
    return {k: p.query.get(k, "") for k in ("tenant", "cycle")}


def cycle(p: Page) -> View:
    doc = p.report("cycle")
    base = _cycle_query(p)
    c = doc["sections"]["cycle"][0]
    tenant = c["tenant_id"]

    def cycle_href(start: str) -> str:
        return _href("cycle", {**base, "tenant": tenant, "cycle": str(start)[:10]})

    # the lines behind a charge: its meter over the cycle's local days (the cycle ends the day before `end`)
    last = (date.fromisoformat(doc["period"]["to"][:10]) - timedelta(days=1)).isoformat()
    period = {"tenant": tenant, "period": "custom", "from": c["cycle_start"][:10], "to": last}
    lines_links = {r["meter"]: _href("lines", {**period, "meter": r["meter"]}) for r in doc["sections"]["charges"]}
    # newest first, as dates: a cycle runs from its first local day to the day before the next starts
    cycle_rows = [
        {"cycle": r["cycle_start"][:10], "from": r["cycle_start"][:10],
         "to": (date.fromisoformat(r["cycle_end"][:10]) - timedelta(days=1)).isoformat(),
         "state": r["state"] + (" (shown)" if r["selected"] else "")}
        for r in reversed(doc["sections"]["cycles"])
    ]  # fmt: skip
    cycle_links = {r["cycle"]: cycle_href(r["cycle"]) for r in cycle_rows}
    return p.view(
        "cycle.html", "cycle", doc, cycle_href=cycle_href, lines_links=lines_links, cycle_links=cycle_links,
        cycle_rows=cycle_rows,
        statement_href=_href("statement", {**base, "tenant": tenant, "cycle": c["cycle_start"][:10]}),
    )  # fmt: skip


def statement(p: Page) -> View:
    doc = p.report("cycle")
    c = doc["sections"]["cycle"][0]
    both = bool(doc["sections"]["charges_by_party"])
    margins = [
        Decimal(r["charge_reseller"]) - Decimal(r["charge_platform"]) for r in doc["sections"]["charges_by_party"]
    ]
    name = next((n for t, n in p.tenants if t == c["tenant_id"]), c["tenant_id"])
    q = {"tenant": c["tenant_id"], "cycle": c["cycle_start"][:10]}
    return p.view(
        "statement.html", "cycle", doc, both=both, margins=margins, tenant_name=name,
        cycle_page=_href("cycle", q), csv_href=f"/ui/statement.csv?{urlencode(q)}",
    )  # fmt: skip


def lines(p: Page) -> View:
    doc = p.report("lines")

    def page_href(n: int) -> str:
        return _href("lines", {**p.query, "page": str(n)})

    keep = {k: p.query.get(k, "") for k in ("tenant", "reseller")}
    event_links = {r["line_id"]: _href("event", {**keep, "line": r["line_id"]}) for r in doc["sections"]["lines"]}
    return p.view("lines.html", "lines", doc, page_href=page_href, event_links=event_links, columns=LINE_COLUMNS)


def event(p: Page) -> View:
    def pretty(data: str) -> str:
        try:
            return json.dumps(json.loads(data), indent=2, ensure_ascii=False)
        except ValueError:
            return data

    return p.view("event.html", "event", p.report("event"), pretty=pretty)


def billing_units(p: Page) -> View:
    doc = p.report("billing-units")
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for m in doc["sections"]["members"]:
        counts[(m["tenant_id"], m["billing_unit"])][m["kind"]] += 1
    periods = sorted({r["period"] for r in doc["sections"]["trend"]})
    series: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for r in doc["sections"]["trend"]:
        series[f"{r['tenant_id']} {r['billing_unit']}"][r["period"]] = Decimal(r["cost"])
    top = sorted(series, key=lambda k: -sum(series[k].values()))[:8]  # a readable chart: the 8 costliest units
    spec = chart_spec("line", periods, [(k, [series[k].get(d, Decimal(0)) for d in periods]) for k in top])
    pivot: dict[str, dict[str, str]] = defaultdict(dict)  # unit -> period -> cost, as the API gives it
    for r in doc["sections"]["trend"]:
        pivot[f"{r['tenant_id']} {r['billing_unit']}"][r["period"]] = r["cost"]
    return p.view("billing_units.html", "billing-units", doc, counts={k: dict(v) for k, v in counts.items()},
                  trend_chart=spec, periods=periods, pivot=dict(pivot))  # fmt: skip


def resellers(p: Page) -> View:
    doc = p.report("resellers")
    keep = {k: p.query.get(k, "") for k in ("period", "from", "to", "tz")}
    if keep["period"] != "custom":
        keep["from"] = keep["to"] = ""
    links = {r["company_id"]: _href("lines", {**keep, "tenant": r["company_id"]}) for r in doc["sections"]["companies"]}
    # the service sections carry no currency: each row takes its company's (hidden columns, so every amount
    # names its currency like the rest of the dashboard)
    money = {
        r["company_id"]: {"currency_platform": r["currency_platform"], "currency_reseller": r["currency_reseller"]}
        for r in doc["sections"]["companies"]
    }
    sections = {
        s: [{**r, **money.get(r.get("company_id"), {})} for r in doc["sections"][s]]
        for s in ("companies", "text_messaging", "chat", "telephony", "bot")
    }
    return p.view("resellers.html", "resellers", doc, with_expenses=p.query.get("with_expenses") == "true",
                  lines_links=links, sections=sections)  # fmt: skip


BILLING_PAGES: dict[str, Any] = {
    "resellers": resellers,
    "cycle": cycle, "statement": statement, "lines": lines, "event": event, "billing-units": billing_units,
}  # fmt: skip
STATEMENT_SECTIONS = ("cycle", "charges", "charges_by_party", "totals", "commitments", "credit", "warnings")
