"""Drill-down from the totals of the overview, services and billing-units pages to the billable lines behind
them: each link keeps the page's period (and tenant), and the lines page's total equals the total clicked and
the lines API's for the same parameters (services: cost = lines + cycle adjustments, both shown)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import Site, sign_in

pytestmark = pytest.mark.integration
WIDTHS = {"desktop": 1400, "mobile": 390}


def _follow(page: Page, site: Site, link: str, card: str) -> tuple[dict[str, str], str]:
    """Clicks `link`, waits for the lines page; its parameters and the `card` value (lines-cost/lines-total)."""
    page.click(link)
    page.wait_for_url("**/ui/lines?**")
    page.wait_for_selector("#lines-summary")
    assert page.locator(".error").count() == 0, page.inner_text("main")
    params = {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}
    return params, page.get_attribute(f"#{card}", "data-value") or ""


def _api_summary(site: Site, params: dict[str, str]) -> dict[str, str]:
    return site.api("lines", "platform", **params)["sections"]["summary"][0]


def _shot(page: Page, shots: Path, name: str) -> None:
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=shots / f"{name}-{label}.png", full_page=False)
    page.set_viewport_size({"width": 1400, "height": 900})


def test_every_total_opens_the_lines_that_add_up_to_it(site: Site, browser: Browser, shots: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    sign_in(page, site, "platform")
    period = f"period=custom&from={site.first}&to={site.last}"

    # overview: the estimated cost card
    page.goto(f"{site.base}/ui/overview?{period}")
    clicked = page.get_attribute("#total-cost", "data-value") or ""
    services = site.api("services", "platform", period="custom", **{"from": site.first, "to": site.last})
    assert Decimal(clicked) == sum(Decimal(r["cost"]) for r in services["sections"]["by_service"]) > 0
    params, total = _follow(page, site, "#total-lines", "lines-total")
    assert params["from"] == site.first and params["to"] == site.last and params["period"] == "custom"
    assert total == clicked == _api_summary(site, params)["total"]
    _shot(page, shots, "lines-from-overview")

    # overview: a service card narrows the lines to its service
    page.go_back()
    card = page.locator(".card a.drill[data-service]").first
    service = card.get_attribute("data-service") or ""
    want = next(r for r in services["sections"]["by_service"] if r["service"] == service)
    params, total = _follow(page, site, f'.card a.drill[data-service="{service}"]', "lines-total")
    assert params["service"] == service and total == want["cost"] == _api_summary(site, params)["total"]
    assert page.get_attribute("#lines-cost", "data-value") == want["lines_cost"]

    # services: the by_service totals row (every service), and one meter's lines cost
    page.goto(f"{site.base}/ui/services?{period}")
    cell = '#sec-by_service tfoot td[data-col="cost"]'
    clicked = page.get_attribute(cell, "data-value") or ""
    assert Decimal(clicked) == sum(Decimal(r["cost"]) for r in services["sections"]["by_service"])
    assert Decimal(clicked) == sum(Decimal(r["cost"]) for r in services["sections"]["by_meter"])  # to the cent
    params, total = _follow(page, site, f"{cell} a.drill", "lines-total")
    assert total == clicked == _api_summary(site, params)["total"]
    _shot(page, shots, "lines-from-services")
    page.go_back()
    meter = max(services["sections"]["by_meter"], key=lambda r: Decimal(r["lines_cost"]))
    has = page.locator(f'td[data-col="meter"][data-value="{meter["meter"]}"]')
    row = page.locator("#sec-by_meter tbody tr[data-row]", has=has)
    row.locator('td[data-col="lines_cost"] a.drill').click()
    page.wait_for_url("**/ui/lines?**")
    params = {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}
    assert params["meter"] == meter["meter"]
    assert page.get_attribute("#lines-cost", "data-value") == meter["lines_cost"] == _api_summary(site, params)["cost"]

    # billing units: the by_unit totals row (units and the cycle adjustments)
    page.goto(f"{site.base}/ui/billing-units?{period}")
    units = site.api("billing-units", "platform", period="custom", **{"from": site.first, "to": site.last})
    cell = '#sec-by_unit tfoot td[data-col="cost"]'
    clicked = page.get_attribute(cell, "data-value") or ""
    assert Decimal(clicked) == sum(Decimal(r["cost"]) for r in units["sections"]["by_unit"])
    assert Decimal(clicked) == sum(Decimal(r["cost"]) for r in units["sections"]["by_unit_meter"])
    params, total = _follow(page, site, f"{cell} a.drill", "lines-total")
    assert total == clicked == _api_summary(site, params)["total"]
    assert Decimal(total) == Decimal(page.get_attribute("#lines-cost", "data-value") or "") + Decimal(
        page.get_attribute("#lines-adjustment", "data-value") or ""
    )
    page.close()
