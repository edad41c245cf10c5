"""The margin page in a real browser: the platform sees its gross margin (price to platform - cost) with
the API's numbers; a reseller or tenant has no such page (no link, 403 on the URL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import Site, cells, sign_in

pytestmark = pytest.mark.integration


def test_the_platform_sees_its_margin_and_nobody_else_does(site: Site, browser: Browser, shots: Path) -> None:
    period = {"period": "custom", "from": site.first, "to": site.last}
    api = site.api("margin", "platform", **period)
    by_tenant = api["sections"]["by_tenant"]
    assert by_tenant and any(r["cost"] != "0.00" for r in by_tenant), by_tenant  # the reference cost books apply
    for width, suffix in ((1400, "desktop"), (390, "mobile")):
        page = browser.new_page(viewport={"width": width, "height": 900})
        sign_in(page, site, "platform")
        page.goto(f"{site.base}/ui/margin?period=custom&from={site.first}&to={site.last}")
        assert page.locator(".error").count() == 0, page.inner_text("main")
        for column in ("price_platform", "cost", "margin"):
            assert cells(page, "by_tenant", column) == [r[column] for r in by_tenant], column
        assert cells(page, "by_cycle", "margin") == [r["margin"] for r in api["sections"]["by_cycle"]]
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        page.screenshot(path=shots / f"margin-{suffix}.png", full_page=True)
        page.close()

    reseller = next(t["reseller"] for t in site.tenants if t["reseller"])
    for scope in (f"reseller:{reseller}", f"tenant:{site.tenants[0]['id']}"):
        page = browser.new_page()
        sign_in(page, site, scope)
        assert page.locator("#nav-margin").count() == 0
        response = page.goto(f"{site.base}/ui/margin")
        assert response is not None and response.status == 403
        assert page.locator("#sec-by_tenant").count() == 0
        assert page.request.get(f"{site.base}/ui/export/margin/by_tenant.csv").status == 403
        page.close()
