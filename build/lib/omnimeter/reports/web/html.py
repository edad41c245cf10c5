"""Small HTML builders for the dashboard: every value escaped, no template engine."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import urlencode

PAGES = (
    ("overview", "Overview"),
    ("users", "Users"),
    ("services", "Services"),
    ("whatsapp", "WhatsApp"),
    ("resellers", "Resellers"),
    ("billing-units", "Billing units"),
    ("allocation", "Allocation"),
    ("cycle", "Cycle"),
)


def e(v: Any) -> str:
    return escape("" if v is None else str(v))


def layout(title: str, page: str, scope: str, body: str, query: Mapping[str, str]) -> str:
    keep = {k: v for k, v in query.items() if k in ("period", "from", "to", "group_by", "tenant", "reseller")}
    qs = f"?{urlencode(keep)}" if keep else ""
    nav = "".join(
        f'<a href="/ui/{p}{qs}" class="{"on" if p == page else ""}" id="nav-{p}">{e(label)}</a>' for p, label in PAGES
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · omnimeter</title><link rel="stylesheet" href="/ui/assets/app.css">
<script src="/ui/assets/chart.umd.js" defer></script><script src="/ui/assets/app.js" defer></script></head>
<body><header><strong>omnimeter</strong> billing <nav>{nav}</nav>
<span class="who">signed in: <b id="scope">{e(scope)}</b> · <a href="/ui/signout">sign out</a></span></header>
<main><h1>{e(title)}</h1>{body}</main></body></html>"""


def notice(doc: Mapping[str, Any]) -> str:
    fresh = doc["freshness"]["newest_event"] or "no usage in this period"
    p = doc["period"]
    return (
        f'<p class="notice" id="notice"><b>Estimate.</b> {e(doc["notice"].removeprefix("Estimate: ").capitalize())}<br>'
        f"Period {e(p['from'])} … {e(p['to'])} ({e(p['time_zone'])}) · newest event included: "
        f'<span id="freshness">{e(fresh)}</span></p>'
    )


def table(
    section: str,
    rows: Sequence[Mapping[str, Any]],
    export: str,
    columns: Sequence[str] | None = None,
    details: Mapping[Any, str] | None = None,
    detail_key: str = "",
) -> str:
    """A table with an export link; with `details`, each row whose `detail_key` value has details gets a
    toggle that expands a hidden row below it."""
    cols = list(columns or (rows[0].keys() if rows else []))
    head = "".join(f"<th>{e(c.replace('_', ' '))}</th>" for c in cols)
    body = []
    for i, r in enumerate(rows):
        extra = details.get(r.get(detail_key)) if details is not None else None
        toggle = (
            f'<button class="expand" aria-expanded="false" data-target="d-{section}-{i}">+</button>' if extra else ""
        )
        cells = "".join(f'<td class="{_kind(r[c])}" data-col="{e(c)}">{e(r[c])}</td>' for c in cols)
        body.append(f'<tr data-row="{i}"><td class="t">{toggle}</td>{cells}</tr>')
        if extra:
            body.append(
                f'<tr id="d-{section}-{i}" class="detail" hidden><td></td><td colspan="{len(cols)}">{extra}</td></tr>'
            )
    empty = f'<tr><td colspan="{len(cols) + 1}" class="empty">no rows</td></tr>' if not rows else ""
    return (
        f'<section class="tbl" id="sec-{e(section)}"><div class="bar"><h2>{e(section.replace("_", " "))}</h2>'
        f'<a class="csv" href="{e(export)}" download>Export CSV</a></div>'
        f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}{empty}</tbody></table></section>"
    )


def _kind(v: Any) -> str:
    s = str(v)
    return "num" if s.replace(".", "", 1).replace("-", "", 1).isdigit() else ""


def chart(chart_id: str, kind: str, labels: Iterable[Any], datasets: Sequence[tuple[str, Sequence[Any]]]) -> str:
    spec = {
        "type": kind,
        "labels": [str(x) for x in labels],
        "datasets": [{"label": name, "data": [float(v) for v in data]} for name, data in datasets],
    }
    return (
        f'<figure class="chart"><canvas id="{e(chart_id)}"></canvas>'
        f'<script type="application/json" data-chart="{e(chart_id)}">{_script_json(spec)}</script></figure>'
    )


def _script_json(doc: object) -> str:
    """JSON safe inside a <script> element (no entity decoding there; no way to close the element)."""
    return json.dumps(doc).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def progress(label: str, percent: Any, detail: str, ident: str) -> str:
    pct = float(percent or 0)
    over = " over" if pct > 100 else ""
    return (
        f'<div class="progress" id="{e(ident)}"><div class="plabel">{e(label)} <b>{e(percent)} %</b> '
        f'<span>{e(detail)}</span></div><div class="track"><div class="fill{over}" style="width:{min(pct, 100):.1f}%">'
        f"</div></div></div>"
    )


def filters(query: Mapping[str, str], tenants: Sequence[tuple[str, str]], extra: str = "") -> str:
    period = query.get("period", "today")
    opts = "".join(
        f'<option value="{v}"{" selected" if v == period else ""}>{label}</option>'
        for v, label in (
            ("today", "Today"),
            ("this-week", "This week"),
            ("this-month", "This month"),
            ("custom", "Custom"),
        )
    )
    group = query.get("group_by", "month")
    gopts = "".join(f"<option{' selected' if g == group else ''}>{g}</option>" for g in ("day", "week", "month"))
    current = query.get("tenant", "")
    topts = '<option value="">all in scope</option>' + "".join(
        f'<option value="{e(t)}"{" selected" if t == current else ""}>{e(t)} {e(n)}</option>' for t, n in tenants
    )
    return (
        f'<form class="filters" method="get" id="filters">'
        f'<label>Period <select name="period" id="period">{opts}</select></label>'
        f'<label>From <input type="date" name="from" id="from" value="{e(query.get("from", ""))}"></label>'
        f'<label>To <input type="date" name="to" id="to" value="{e(query.get("to", ""))}"></label>'
        f'<label>Group by <select name="group_by" id="group_by">{gopts}</select></label>'
        f'<label>Tenant <select name="tenant" id="tenant">{topts}</select></label>{extra}'
        f'<button type="submit" id="apply">Apply</button></form>'
    )
