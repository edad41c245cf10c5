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


def test_progress_bars_carry_their_width_as_data_not_inline_style() -> None:
    doc = _doc({"commitments": [{"meter": "m", "used_percent": "130.5", "used": "1305", "included": "1000"}],
                "credit": [{"used_percent": None, "spent": "0", "credit": "250.00", "currency": "USD"}]})  # fmt: skip
    html = _render("cycle.html", doc=doc)
    assert 'style="' not in html
    assert 'class="fill over" data-width="100.0"' in html and 'class="fill" data-width="0.0"' in html
    assert "None" not in html
