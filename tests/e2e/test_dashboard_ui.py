"""The dashboard's generic layer in a real browser (issue 17 points 1, 3, 4, 5, 10): errors beside their
field with the filters kept, charts with aligned buckets, periods with times, presets and a time zone,
tables with labels, totals, search, sort and pages, and every page usable at 390 px.

Numbers are compared with the JSON API for the same parameters (sums written out here in Decimal, from
the API's rows; nothing computed by the dashboard's code). Screenshots: $OMNIMETER_SCREENSHOTS.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import Site, cells, local, sign_in, texts

pytestmark = pytest.mark.integration

DESKTOP = {"width": 1400, "height": 900}
MOBILE = {"width": 390, "height": 844}
EN = "\u2013"  # the en dash of ranges


def _spec(page: Page, chart: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(page.text_content(f'script[data-chart="{chart}"]') or "{}")
    return spec


def _custom(site: Site, extra: str = "") -> str:
    return f"period=custom&from={local(site.first)}&to={local(site.last, end=True)}{extra}"


def test_errors_are_shown_beside_their_field_and_keep_the_filters(site: Site, browser: Browser, shots: Path) -> None:
    for size, suffix in ((DESKTOP, ""), (MOBILE, "-mobile")):
        page = browser.new_page(viewport=size)
        sign_in(page, site, "platform")
        # a custom period with From after Until, entered in the form
        page.select_option("#period", "custom")
        page.fill("#from", "2026-11-10T00:00")
        page.fill("#to", "2026-11-01T00:00")
        with page.expect_response(lambda r: "/ui/overview?" in r.url) as answer:
            page.click("#apply")
        assert answer.value.status == 400
        assert page.locator("#err-to").is_visible() and "after" in page.inner_text("#err-to").lower()
        assert page.input_value("#period") == "custom" and page.input_value("#from") == "2026-11-10T00:00"
        assert page.input_value("#to") == "2026-11-01T00:00" and page.locator("#sec-by_service").count() == 0
        page.screenshot(path=shots / f"error-period{suffix}.png", full_page=True)

        # an amount written with a decimal comma: the message says how to write it, the rest is kept
        tenant = site.tenants[0]["id"]
        response = page.goto(f"{site.base}/ui/allocation?{_custom(site)}&tenant={tenant}&amount=1.200,00&by=team")
        assert response is not None and response.status == 400
        msg = page.inner_text("#err-amount")
        assert "1.200,00" in msg and "1200.00" in msg and "--" not in page.inner_text("main")
        assert page.input_value("#amount") == "1.200,00" and page.input_value("#by") == "team"
        assert page.input_value("#tenant") == tenant
        page.screenshot(path=shots / f"error-amount{suffix}.png", full_page=True)

        # a page of one tenant without one: a picker, a message beside it, no CLI words
        for name in ("cycle", "allocation"):
            response = page.goto(f"{site.base}/ui/{name}" + ("?amount=1200" if name == "allocation" else ""))
            assert response is not None and response.status == 400, name
            assert page.locator("#err-tenant").is_visible(), name
            assert "--tenant" not in page.inner_text("main") and "give" not in page.inner_text("#err-tenant")
            assert page.inner_text("#tenant option >> nth=0") == "choose a tenant"
            page.screenshot(path=shots / f"error-{name}-tenant{suffix}.png", full_page=True)
        # choosing one from the picker shows the cycle
        page.goto(f"{site.base}/ui/cycle")
        page.select_option("#tenant", tenant)
        with page.expect_response(lambda r: "/ui/cycle?" in r.url) as answer:
            page.click("#apply")
        assert answer.value.status == 200 and page.locator("#sec-charges").count() == 1
        api = site.api("cycle", "platform", tenant=tenant)
        assert cells(page, "charges", "lines_amount") == [r["lines_amount"] for r in api["sections"]["charges"]]
        page.close()


def test_comparison_chart_pairs_equal_buckets_and_keeps_seats_apart(site: Site, browser: Browser, shots: Path) -> None:
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, site, "platform")
    page.goto(f"{site.base}/ui/overview?{_custom(site, '&group_by=week')}")
    page.wait_for_selector("canvas#usage-over-time[data-ready='1']", state="attached")
    spec = _spec(page, "usage-over-time")
    today = datetime.now(UTC).date()
    first = date.fromisoformat(site.first)
    days = (today - first).days + 1  # the period runs to tomorrow: nothing drawn after today
    assert len(spec["labels"]) == math.ceil(days / 7), spec["labels"]
    week1 = first + timedelta(days=6)
    same_month, across = f"{first:%b} {first.day}{EN}{week1.day}", f"{first:%b} {first.day} {EN} {week1:%b} {week1.day}"
    assert spec["labels"][0] in (same_month, across)
    assert spec["labels"][-1].endswith("(partial)")  # today's bucket
    assert not any(label.endswith("(partial)") for label in spec["labels"][:-1])
    this, prev = spec["datasets"]
    prev_first = first - timedelta(days=(date.fromisoformat(site.last) - first).days + 1)
    assert this["label"].startswith("this period (") and f"{prev_first:%b} {prev_first.day}" in prev["label"]
    assert all(p for p in prev["periods"])  # each previous bucket names its dates (tooltip)

    usage = site.api("usage", "platform", group_by="day", period="custom", **{"from": site.first, "to": site.last})
    rows = [r for r in usage["sections"]["usage"] if r["service"] != "seats"]
    want_now = sum((Decimal(r["cost"]) for r in rows if date.fromisoformat(r["period"]) <= today), Decimal(0))
    want_prev = sum((Decimal(r["previous_cost"]) for r in rows if date.fromisoformat(r["period"]) <= today), Decimal(0))
    assert sum(Decimal(x) for x in this["raw"]) == want_now and want_now > 0
    assert sum(Decimal(x) for x in prev["raw"]) == want_prev
    week2 = [r for r in rows if 7 <= (date.fromisoformat(r["period"]) - first).days < 14]
    assert Decimal(this["raw"][1]) == sum((Decimal(r["cost"]) for r in week2), Decimal(0))  # bucket = 7 days

    # seats are recurring: not among usage, in their own figure
    services = site.api("services", "platform", period="custom", **{"from": site.first, "to": site.last})
    seats = [r for r in services["sections"]["by_service"] if r["service"] == "seats"]
    assert "Seats" not in _spec(page, "cost-by-service")["labels"]
    assert Decimal(page.get_attribute("#recurring-cost", "data-value") or "") == sum(
        (Decimal(r["cost"]) for r in seats), Decimal(0)
    )
    assert re.fullmatch(r"[\d,]+\.\d\d USD", page.inner_text("#total-cost"))  # currency, thousands separators
    page.screenshot(path=shots / "overview-weeks.png", full_page=True)

    # the per-service trend switches between cost and quantity
    trend = _spec(page, "service-trend")
    assert {d["label"].split(" (")[0] for d in trend["modes"]["cost"]} >= {"Outgoing SMS"}
    assert not [d for d in trend["modes"]["cost"] if d["label"].startswith("Seats")]
    assert page.get_attribute("canvas#service-trend", "data-mode") == "cost"
    page.click("#trend-quantity")
    assert page.get_attribute("canvas#service-trend", "data-mode") == "quantity"
    assert page.get_attribute("#trend-quantity", "aria-pressed") == "true"
    calls = [d for d in trend["modes"]["quantity"] if d["label"].startswith("Calls")]
    assert not calls or calls[0]["label"] == "Calls (minutes)"
    page.screenshot(path=shots / "overview-trend-quantity.png", full_page=True)

    # four weeks to today beside the four before (both inside the generated traffic)
    start = (today - timedelta(days=27)).isoformat()
    page.goto(f"{site.base}/ui/overview?period=custom&from={local(start)}&to={local(today.isoformat(), end=True)}"
              "&group_by=week")  # fmt: skip
    spec = _spec(page, "usage-over-time")
    assert len(spec["labels"]) == 4 and spec["labels"][-1].endswith("(partial)")
    usage = site.api("usage", "platform", group_by="day", period="custom", **{"from": start, "to": today.isoformat()})
    rows = [r for r in usage["sections"]["usage"] if r["service"] != "seats"]
    for i in range(4):  # bucket i: days 7i..7i+6 of each period
        week = [
            r for r in rows if 7 * i <= (date.fromisoformat(r["period"]) - date.fromisoformat(start)).days < 7 * i + 7
        ]
        assert Decimal(spec["datasets"][0]["raw"][i]) == sum((Decimal(r["cost"]) for r in week), Decimal(0))
        assert Decimal(spec["datasets"][1]["raw"][i]) == sum((Decimal(r["previous_cost"]) for r in week), Decimal(0))
    assert sum(Decimal(x) for x in spec["datasets"][1]["raw"]) > 0
    page.screenshot(path=shots / "overview-compare.png", full_page=True)

    # this month: no bucket after today
    page.goto(f"{site.base}/ui/overview?period=this-month&group_by=day")
    spec = _spec(page, "usage-over-time")
    assert len(spec["labels"]) == today.day, spec["labels"]
    page.screenshot(path=shots / "overview-this-month.png", full_page=True)
    page.close()


def test_periods_with_times_presets_and_time_zone(site: Site, browser: Browser, shots: Path) -> None:
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, site, "platform")
    assert page.get_attribute("#from", "type") == "datetime-local"
    # a period given with times: the API's instants, to the minute
    start, end = f"{site.mid}T08:30", f"{(date.fromisoformat(site.mid) + timedelta(days=3)).isoformat()}T17:00"
    page.select_option("#period", "custom")
    page.fill("#from", start)
    page.fill("#to", end)
    page.click("#apply")
    page.wait_for_selector("#sec-by_service")
    api = site.api("services", "platform", period="custom", **{"from": start, "to": end})
    assert page.get_attribute("#period-from", "data-value") == api["period"]["from"]
    assert cells(page, "by_service", "cost") == [r["cost"] for r in api["sections"]["by_service"]]
    assert page.input_value("#from") == start and page.input_value("#to") == end
    page.screenshot(path=shots / "period-with-times.png", full_page=True)

    # last month (UTC for the platform's several tenants)
    page.select_option("#period", "last-month")
    page.click("#apply")
    page.wait_for_selector("#sec-by_service")
    today = datetime.now(UTC).date()
    last = today.replace(day=1) - timedelta(days=1)
    api = site.api("services", "platform", period="custom", **{"from": f"{last:%Y-%m}-01", "to": last.isoformat()})
    assert api["period"]["from"].startswith(f"{last:%Y-%m}-01")  # instants: the tenants' zones differ
    assert page.get_attribute("#period-from", "data-value") == api["period"]["from"]
    assert cells(page, "by_service", "cost") == [r["cost"] for r in api["sections"]["by_service"]]
    page.screenshot(path=shots / "period-last-month.png", full_page=True)

    # previous cycle of one tenant: the cycle before the current one, in the tenant's zone
    tenant = next(t for t in site.tenants if t.get("cycle", "monthly") == "monthly")
    current = site.api("cycle", "platform", tenant=tenant["id"])
    before = (datetime.fromisoformat(current["period"]["from"]) - timedelta(days=1)).date().isoformat()
    prev = site.api("cycle", "platform", tenant=tenant["id"], cycle=before)
    zone = ZoneInfo(tenant["timezone"])
    p_first = datetime.fromisoformat(prev["period"]["from"]).astimezone(zone).date()
    p_last = (datetime.fromisoformat(prev["period"]["to"]).astimezone(zone) - timedelta(seconds=1)).date()
    page.goto(f"{site.base}/ui/services?period=previous-cycle&tenant={tenant['id']}")
    api = site.api("services", "platform", tenant=tenant["id"], period="custom",
                   **{"from": p_first.isoformat(), "to": p_last.isoformat()})  # fmt: skip
    assert page.get_attribute("#period-from", "data-value") == p_first.isoformat()
    assert page.get_attribute("#period-to", "data-value") == p_last.isoformat()
    assert cells(page, "by_meter", "cost") == [r["cost"] for r in api["sections"]["by_meter"]]
    assert page.input_value("#period") == "previous-cycle"
    page.screenshot(path=shots / "period-previous-cycle.png", full_page=True)

    # the time zone: shown, selectable, and the API's for the same zone
    assert page.inner_text("#time-zone") == tenant["timezone"]
    page.goto(f"{site.base}/ui/services?{_custom(site)}")
    page.select_option("#tz", "America/New_York")
    page.click("#apply")
    page.wait_for_selector("#sec-by_service")
    assert page.inner_text("#time-zone") == "America/New_York" and "tz=America%2FNew_York" in page.url
    api = site.api("services", "platform", tz="America/New_York", period="custom",
                   **{"from": site.first, "to": site.last})  # fmt: skip
    assert cells(page, "by_service", "cost") == [r["cost"] for r in api["sections"]["by_service"]]
    assert "tz=America" in (page.get_attribute("#nav-users", "href") or "")  # kept across pages
    page.screenshot(path=shots / "period-time-zone.png", full_page=True)
    page.close()


def test_tables_have_labels_totals_search_sort_and_pages(site: Site, browser: Browser, shots: Path) -> None:
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, site, "platform")
    page.goto(f"{site.base}/ui/services?{_custom(site)}")
    api = site.api("services", "platform", period="custom", **{"from": site.first, "to": site.last})
    rows = api["sections"]["by_meter"]
    # human labels from the catalogue, raw values kept
    meters = cells(page, "by_meter", "meter")
    assert meters == [r["meter"] for r in rows]
    shown = dict(zip(meters, texts(page, "by_meter", "meter"), strict=True))
    if "whatsapp.template.marketing" in shown:
        assert shown["whatsapp.template.marketing"] == "WhatsApp marketing template"
    assert all("." not in t for t in shown.values()), shown
    # calls in minutes, seconds beside them
    calls = [r for r in rows if r["unit"] == "seconds"]
    if calls:
        td = page.locator(f'#sec-by_meter td[data-col="quantity"][data-value="{calls[0]["quantity"]}"]').first
        minutes = (Decimal(calls[0]["quantity"]) / 60).quantize(Decimal("0.01"))
        assert td.inner_text().startswith(f"{minutes:,} min") and td.locator("small").inner_text().endswith(" s")
    # money with its currency and thousands separators; totals row in Decimal from the same rows
    costs = texts(page, "by_meter", "cost")
    assert all(re.fullmatch(r"-?[\d,]+\.\d\d USD", c) for c in costs), costs
    foot = page.locator('#sec-by_meter tfoot td[data-col="cost"]')
    assert Decimal(foot.get_attribute("data-value") or "") == sum((Decimal(r["cost"]) for r in rows), Decimal(0))
    assert page.locator('#sec-by_meter tfoot td[data-col="quantity"]').inner_text() == ""  # unlike units: no sum
    # group-by only where it changes the page
    assert page.locator("#group_by").count() == 0
    page.screenshot(path=shots / "services-tables.png", full_page=True)

    # users: 25 a page, search, sort
    page.goto(f"{site.base}/ui/users?{_custom(site)}")
    users = site.api("users", "platform", period="custom", **{"from": site.first, "to": site.last})["sections"]["users"]
    visible = page.locator("#sec-users tbody tr[data-row]:visible")
    assert visible.count() == min(25, len(users))
    assert page.inner_text("#sec-users .pinfo") == f"1{EN}{min(25, len(users))} of {len(users):,}"
    height = page.evaluate("document.scrollingElement.scrollHeight")
    assert height < 4000, height  # was 17,646 px
    page.screenshot(path=shots / "users-paged.png", full_page=True)
    if len(users) > 25:
        page.click("#sec-users nav.pager button.next")
        first_id = visible.first.locator('td[data-col="user_id"]').get_attribute("data-value")
        assert first_id == users[25]["user_id"]
    page.click('#sec-users th[data-col="cost"] button.sort')
    page.click('#sec-users th[data-col="cost"] button.sort')  # descending
    top = Decimal(visible.first.locator('td[data-col="cost"]').get_attribute("data-value") or "")
    assert top == max(Decimal(u["cost"]) for u in users)
    assert page.get_attribute('#sec-users th[data-col="cost"]', "aria-sort") == "descending"
    page.screenshot(path=shots / "users-sorted.png", full_page=True)
    named = next(u for u in users if u["name"])
    page.click('#sec-users th[data-col="name"] button.sort')  # text sorts by what is read
    names = [n for n in texts(page, "users", "name")[:25] if n]
    assert names == sorted(names, key=lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)])
    page.fill("#sec-users input.tsearch", named["name"])
    want = [u for u in users if named["name"].lower() in " ".join(str(v) for v in u.values()).lower()]
    assert visible.count() == min(25, len(want)) and page.get_attribute("#sec-users", "data-shown") == str(len(want))
    # timestamps in the page's zone, to the second
    stamps = [t for t in texts(page, "users", "last_activity") if t]
    assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", t) for t in stamps), stamps
    page.screenshot(path=shots / "users-search.png", full_page=True)
    page.close()


PAGES = ("overview", "users", "services", "whatsapp", "resellers", "billing-units", "allocation", "cycle")


@pytest.mark.parametrize("size", ["desktop", "mobile"])
def test_every_page_fits_the_screen(site: Site, browser: Browser, shots: Path, size: str) -> None:
    view = MOBILE if size == "mobile" else DESKTOP
    page = browser.new_page(viewport=view)
    sign_in(page, site, "platform")
    tenant = next(t for t in site.tenants if t["reseller"])["id"]
    for name in PAGES:
        extra = {"allocation": f"&tenant={tenant}&amount=1200&by=billing_unit&meter=whatsapp.",
                 "cycle": f"&tenant={tenant}&cycle={site.mid}"}.get(name, "&group_by=week")  # fmt: skip
        response = page.goto(f"{site.base}/ui/{name}?{_custom(site, extra)}")
        assert response is not None and response.status == 200, name
        page.wait_for_load_state("load")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= view["width"], (name, width)
        scrolls = page.locator("section.tbl .scroll").all()
        for sec in scrolls:  # a wide table scrolls inside its card
            assert sec.evaluate("e => e.getBoundingClientRect().right") <= view["width"] + 0.5, name
        if size == "mobile" and name == "resellers":
            assert any(s.evaluate("e => e.scrollWidth > e.clientWidth") for s in scrolls)
            wide = next(s for s in scrolls if s.evaluate("e => e.scrollWidth > e.clientWidth"))
            wide.evaluate("e => { e.scrollLeft = e.scrollWidth; }")  # the money columns are reachable
            assert wide.evaluate("e => e.scrollLeft") > 0
            page.screenshot(path=shots / "resellers-mobile-scrolled.png", full_page=True)
        page.screenshot(path=shots / (f"{name}-mobile.png" if size == "mobile" else f"{name}-desktop.png"),
                        full_page=True)  # fmt: skip
    page.close()


def test_a_tenant_reads_its_own_zone_and_needs_no_tenant_picked(site: Site, browser: Browser, shots: Path) -> None:
    tenant = next(t for t in site.tenants if t["timezone"] != "UTC")
    page = browser.new_page(viewport=MOBILE)
    sign_in(page, site, f"tenant:{tenant['id']}")
    assert page.inner_text("#time-zone") == tenant["timezone"]  # the viewer's zone by default
    assert page.inner_text("#tz option >> nth=0") == "the tenant's"
    response = page.goto(f"{site.base}/ui/cycle")  # the scope's one tenant: no picking needed
    assert response is not None and response.status == 200 and page.locator("#err-tenant").count() == 0
    api = site.api("cycle", f"tenant:{tenant['id']}")
    assert cells(page, "charges", "estimated_amount") == [r["estimated_amount"] for r in api["sections"]["charges"]]
    assert page.get_attribute("#period-from", "data-value") == api["period"]["from"]
    page.screenshot(path=shots / "cycle-tenant-mobile.png", full_page=True)
    page.close()
