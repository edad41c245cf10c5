"""The dashboard's templates escape every producer or user string (Jinja2 autoescape), keep chart data
inside its JSON data block, and render the ids the browser test relies on."""

from __future__ import annotations

import json
import re
from typing import Any

from omnimeter.reports.model import NOTICE
from omnimeter.reports.scope import Scope
from omnimeter.reports.web.app import _layout, templates
from omnimeter.reports.web.pages import chart_spec

EVIL = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def _doc(sections: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "notice": NOTICE, "period": {"from": "2026-11-01", "to": "2026-11-30", "time_zone": "UTC"},
        "freshness": {"newest_event": None}, "sections": sections,
    }  # fmt: skip


def _render(template: str, **variables: Any) -> str:
    layout = _layout("services", Scope.parse("tenant:t1"), "tok", b"s" * 32, {"period": EVIL})
    query = {"period": "custom", "from": EVIL, "tenant": EVIL}
    exports = {s: f"/ui/export/{s}.csv?x={EVIL}" for s in variables["doc"]["sections"]}
    return templates.get_template(template).render(
        **{**layout, "query": query, "tenants": [("t1", EVIL)], "exports": exports, **variables}
    )


def test_producer_and_query_strings_are_escaped_everywhere() -> None:
    rows = [{"service": EVIL, "meter": "m", "cost": "1.50"}]
    html = _render("tables.html", doc=_doc({"by_meter": rows}))
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 2  # the two asset tags of the layout, nothing else
    assert 'id="sec-by_meter"' in html and 'data-col="cost"' in html and 'class="num"' in html
    assert 'id="signout"' in html and re.search(r'name="csrf" value="[0-9a-f]{32}"', html)
    assert 'id="nav-cycle"' in html and 'id="nav-resellers"' not in html  # a tenant never reads that report


def test_chart_data_cannot_close_its_data_block() -> None:
    spec = chart_spec("bar", [f"</script>{EVIL}"], [("in", [1])])
    html = _render("whatsapp.html", doc=_doc({}), graph=spec)
    block = re.search(r'<script type="application/json" data-chart="wa-in-out">(.*?)</script>', html, re.S)
    assert block is not None
    assert json.loads(block.group(1)) == spec  # what app.js parses is exactly the data
    assert "</script><script>" not in html


def _warning(kind: str, used_percent: str, level: str, **extra: str) -> dict[str, Any]:
    return {"kind": kind, "meter": "m" if kind == "commitment" else "carrier", "used": "1305", "limit": "1000",
            "used_percent": used_percent, "level": level, "overage": "305", "overage_cost": "30.50",
            "forecast": "1400", "forecast_percent": "140.0", "forecast_level": "exceeded", "currency": "USD",
            "message": f"{kind}: {used_percent} % used", **extra}  # fmt: skip


def _cycle_doc(warnings: list[dict[str, Any]]) -> dict[str, Any]:
    cycle = {"tenant_id": "t1", "cycle_start": "2026-11-03T00:00:00+00:00",
             "cycle_end": "2026-12-03T00:00:00+00:00", "period": "monthly", "time_zone": "UTC",
             "days_elapsed": 29, "days_total": 30, "price_book": "b"}  # fmt: skip
    nav = {"previous_cycle": "2026-10-03", "next_cycle": "2026-12-03", "state": "current"}
    empty = ("carried_in", "charges", "charges_by_party", "totals", "commitments", "credit", "carry_over", "cycles")
    return _doc({"cycle": [cycle], "navigation": [nav], "warnings": warnings, **{k: [] for k in empty}})


def _render_cycle(doc: dict[str, Any]) -> str:
    return _render("cycle.html", doc=doc, cycle_href=lambda d: f"/ui/cycle?cycle={d}", lines_links={},
                   cycle_links={}, cycle_rows=[], statement_href="/ui/statement?cycle=2026-11-03")  # fmt: skip


def test_progress_bars_carry_their_width_as_data_not_inline_style() -> None:
    html = _render_cycle(_cycle_doc([_warning("commitment", "130.5", "exceeded"),
                                     _warning("credit", "0.0", "ok", forecast_percent="0.0")]))  # fmt: skip
    assert 'style="' not in html
    assert 'class="fill exceeded" data-width="100.0"' in html and 'class="fill ok" data-width="0.0"' in html
    assert "None" not in html


def test_warning_levels_are_amber_from_80_and_red_from_100_with_the_overage_cost() -> None:
    html = _render_cycle(_cycle_doc([_warning("commitment", "94.0", "warning"),
                                     _warning("credit", "112.0", "exceeded")]))  # fmt: skip
    assert 'id="commit-0" data-level="warning"' in html and "80 % reached" in html
    assert 'id="credit" data-level="exceeded"' in html and "over the limit" in html
    assert html.count('data-col="overage_cost"') == 1 and "30.50 USD" in html  # only where exceeded
    assert 'id="prev-cycle" href="/ui/cycle?cycle=2026-10-03"' in html and 'id="next-cycle"' in html
    assert "day 29 of 30 elapsed" in html and 'name="cycle"' in html  # Apply keeps the cycle
