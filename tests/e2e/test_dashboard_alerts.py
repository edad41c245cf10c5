"""The alerts page in a real browser: the alerts the worker published for the generated traffic (the
directory's thresholds: cycle spend, the 500-message marketing commitment and the 250.00 carrier credit at
80 % and 100 %, spend per prefix, pumping), with the API's rows; each party sees only its own tenants'."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import Site, cells, sign_in

pytestmark = pytest.mark.integration


def _published(site: Site, scope: str, timeout_s: float = 60) -> dict[str, Any]:
    """The alerts report once the worker's rounds have published (they follow the rollups)."""
    deadline = time.monotonic() + timeout_s
    while True:
        doc = site.api("alerts", scope, period="custom", **{"from": site.first, "to": site.last})
        if doc["sections"]["alerts"] or time.monotonic() > deadline:
            return doc
        time.sleep(1)


def test_alerts_show_what_the_worker_published_to_each_party_its_own(site: Site, browser: Browser, shots: Path) -> None:
    api = _published(site, "platform")
    rows = api["sections"]["alerts"]
    assert rows, "the generated traffic crosses the directory's thresholds in the running cycles"
    assert {r["tenant_id"] for r in rows} <= {t["id"] for t in site.tenants}
    total = sum(r["alerts"] for r in api["sections"]["summary"])
    assert total == len(rows)
    for width, suffix in ((1400, "desktop"), (390, "mobile")):
        page = browser.new_page(viewport={"width": width, "height": 900})
        sign_in(page, site, "platform")
        page.goto(f"{site.base}/ui/alerts?period=custom&from={site.first}&to={site.last}")
        assert page.locator(".error").count() == 0, page.inner_text("main")
        assert cells(page, "alerts", "alert_id") == [r["alert_id"] for r in rows]
        assert cells(page, "summary", "alerts") == [str(r["alerts"]) for r in api["sections"]["summary"]]
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        page.screenshot(path=shots / f"alerts-{suffix}.png", full_page=True)
        page.close()

    tenant = rows[0]["tenant_id"]
    own = _published(site, f"tenant:{tenant}")
    assert [r["alert_id"] for r in own["sections"]["alerts"]] == [
        r["alert_id"] for r in rows if r["tenant_id"] == tenant
    ]
    reseller = next(t["reseller"] for t in site.tenants if t["reseller"])
    theirs = {t["id"] for t in site.tenants if t["reseller"] == reseller}
    seen = _published(site, f"reseller:{reseller}", timeout_s=0)
    assert [r["alert_id"] for r in seen["sections"]["alerts"]] == [
        r["alert_id"] for r in rows if r["tenant_id"] in theirs
    ]
    page = browser.new_page()
    sign_in(page, site, f"tenant:{tenant}")
    page.goto(f"{site.base}/ui/alerts?period=custom&from={site.first}&to={site.last}")
    assert set(cells(page, "alerts", "tenant_id")) == {tenant}
    page.close()
