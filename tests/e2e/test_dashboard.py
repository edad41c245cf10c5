"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against a running worker with
generated traffic: sign in, change the period, expand a user row, compare totals with the JSON API, save
a screenshot of every page, export CSV, and check that a tenant token cannot open another tenant's page.

Screenshots go to $OMNIMETER_SCREENSHOTS (docs/screenshots/ for the README) or the test's tmp dir.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import Site, cells, local, sign_in

pytestmark = pytest.mark.integration


def test_platform_admin_walks_every_page(site: Site, browser: Browser, shots: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    sign_in(page, site, "platform")
    page.screenshot(path=shots / "overview-today.png", full_page=True)

    # change the period: a custom range over the generated traffic, by week
    page.select_option("#period", "custom")
    page.fill("#from", local(site.first))
    page.fill("#to", local(site.last, end=True))
    page.select_option("#group_by", "week")
    page.click("#apply")
    page.wait_for_selector("canvas[data-ready='1']", state="attached")
    assert "period=custom" in page.url and site.first in page.inner_text("#notice")
    page.screenshot(path=shots / "overview.png", full_page=True)
    api = site.api("services", "platform", period="custom", **{"from": site.first, "to": site.last})
    assert cells(page, "by_service", "cost") == [r["cost"] for r in api["sections"]["by_service"]]
    total = sum(Decimal(r["cost"]) for r in api["sections"]["by_service"])
    assert Decimal(page.get_attribute("#total-cost", "data-value") or "") == total and total > 0
    assert page.get_attribute("#freshness", "data-value") == api["freshness"]["newest_event"]

    # users: expand the first user's row, its channels add up to its activity
    page.click("#nav-users")
    page.wait_for_selector("#sec-users")
    first = page.locator("#sec-users button.expand").first
    detail_id = first.get_attribute("data-target")
    assert page.locator(f"#{detail_id}").is_hidden()
    first.click()
    assert page.locator(f"#{detail_id}").is_visible()
    row = first.locator("xpath=ancestor::tr")
    activity = int(row.locator('td[data-col="activity"]').get_attribute("data-value") or "")
    inner = page.eval_on_selector_all(
        f"#{detail_id} table.inner tr td:nth-child(2)", "els => els.map(e => e.dataset.value)"
    )
    assert sum(int(x) for x in inner) == activity
    users_api = site.api("users", "platform", period="custom", **{"from": site.first, "to": site.last})
    assert cells(page, "users", "cost") == [r["cost"] for r in users_api["sections"]["users"]]
    page.screenshot(path=shots / "users.png", full_page=False)

    tenant = next(t for t in site.tenants if t["reseller"])
    for name, query in (
        ("services", ""), ("whatsapp", ""), ("resellers", "&with_expenses=true"), ("billing-units", ""),
        ("allocation", f"&tenant={tenant['id']}&amount=1200&by=billing_unit&meter=whatsapp."),
        ("cycle", f"&tenant={tenant['id']}&cycle={site.mid}"),
    ):  # fmt: skip
        page.goto(f"{site.base}/ui/{name}?period=custom&from={site.first}&to={site.last}&group_by=week{query}")
        assert page.locator(".error").count() == 0, page.inner_text("main")
        assert "Estimate." in page.inner_text("#notice")
        page.screenshot(path=shots / f"{name}.png", full_page=name in ("cycle", "allocation"))
    assert cells(page, "charges", "lines_amount")  # the cycle page, last above
    page.goto(f"{site.base}/ui/allocation?period=custom&from={site.first}&to={site.last}&tenant={tenant['id']}"
              "&amount=1200&by=billing_unit&meter=whatsapp.")  # fmt: skip
    assert sum(Decimal(x) for x in cells(page, "allocation", "amount")) == Decimal("1200.00")

    # CSV export of a table, with the session cookie
    href = page.get_attribute("#sec-allocation a.csv", "href")
    exported = list(csv.reader(io.StringIO(page.request.get(f"{site.base}{href}").text())))
    assert exported[0][:5] == ["section", "center", "usage", "share_percent", "amount"]
    assert sum(Decimal(r[4]) for r in exported[1:]) == Decimal("1200.00")

    # the Content-Security-Policy (no inline script or style) refused nothing the pages need
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console

    # works offline: every request stayed on this server
    assert requested and all(u.startswith(site.base) for u in requested), {
        u for u in requested if not u.startswith(site.base)
    }
    page.close()


def test_cycle_page_shows_progress_bars(site: Site, browser: Browser) -> None:
    page = browser.new_page()
    tenant = site.tenants[0]["id"]
    sign_in(page, site, f"tenant:{tenant}")
    page.goto(f"{site.base}/ui/cycle")
    api = site.api("cycle", f"tenant:{tenant}")
    assert page.locator("#credit").is_visible()
    assert api["sections"]["credit"][0]["used_percent"] in page.inner_text("#credit")
    pct = min(float(api["sections"]["credit"][0]["used_percent"] or 0), 100.0)
    widths = page.eval_on_selector_all(".fill", "els => els.map(e => [e.dataset.width, e.style.width])")
    assert widths and all(w.endswith("%") and float(w[:-1]) == float(d) for d, w in widths), widths  # app.js (CSP)
    assert float(page.eval_on_selector("#credit .fill", "e => e.dataset.width")) == round(pct, 1)
    assert cells(page, "charges", "lines_amount") == [r["lines_amount"] for r in api["sections"]["charges"]]
    page.close()


def test_a_tenant_token_cannot_open_another_tenants_page(site: Site, browser: Browser, shots: Path) -> None:
    page = browser.new_page()
    mine, other = site.tenants[0]["id"], site.tenants[1]["id"]
    sign_in(page, site, f"tenant:{mine}")
    options = page.eval_on_selector_all("#tenant option", "els => els.map(e => e.value)")
    assert options == ["", mine]
    response = page.goto(f"{site.base}/ui/services?tenant={other}")
    assert response is not None and response.status == 403
    assert page.locator("#forbidden").is_visible() and page.locator("#sec-by_meter").count() == 0
    page.screenshot(path=shots / "forbidden.png")
    csv = page.request.get(f"{site.base}/ui/export/services/by_meter.csv?tenant={other}")
    assert csv.status == 403
    response = page.goto(f"{site.base}/ui/services")
    assert response is not None and response.status == 200
    assert page.request.get(f"{site.base}/ui/signout").status == 405  # sign-out is a POST (with a CSRF token)
    page.click("#signout")
    page.wait_for_url("**/ui/signin")
    page.goto(f"{site.base}/ui/services")
    assert "/ui/signin" in page.url  # signed out: no cookie, no data
    page.close()
