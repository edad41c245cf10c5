"""What every dashboard test shares: one worker over a store with DAYS days of generated traffic (the
issue asks for at least 60), a headless Chromium, the screenshot folder and a few page helpers.

Screenshots go to $OMNIMETER_SCREENSHOTS (docs/screenshots/ for the README) or a tmp dir.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from omnimeter.cli.simulate import Ledger
from omnimeter.cli.traffic import Traffic, build_world, directory_doc, records
from omnimeter.cli.workerproc import WorkerProcess, wait_caught_up
from omnimeter.reports.scope import Scope
from omnimeter.reports.tokens import issue, load_secret
from omnimeter.settings import Settings
from tests.integration.isolated import apply_reference, isolated_settings
from tests.kafka_io import produce_plain

DAYS = 62


class Site:
    def __init__(self, settings: Settings, tenants: list[dict[str, Any]]) -> None:
        self.settings = settings
        self.base = f"http://127.0.0.1:{settings.worker.web_port}"
        self.tenants = tenants
        self.first = (datetime.now(UTC) - timedelta(days=DAYS + 1)).date().isoformat()
        self.last = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        self.mid = (datetime.now(UTC) - timedelta(days=DAYS // 2)).date().isoformat()  # a cycle with traffic

    def token(self, scope: str) -> str:
        return issue(load_secret(self.settings.data_dir, self.settings.api.secret), Scope.parse(scope))

    def api(self, name: str, scope: str, **params: str) -> dict[str, Any]:
        url = f"{self.base}/api/v1/reports/{name}?{urllib.parse.urlencode(params)}"
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token(scope)}"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)


@pytest.fixture(scope="package")
def site(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("dashboard")
    settings = isolated_settings(kafka, tmp, "ui")
    doc = directory_doc(build_world(13, 6))
    apply_reference(settings, doc, tmp / "directory.yaml")
    n = 6_000
    start = datetime.now(UTC) - timedelta(days=DAYS)
    traffic = Traffic(build_world(13, 6), seed=5, start=start, step=timedelta(days=DAYS - 0.5) / (n * 1.05))
    produce_plain(kafka, settings.topics.usage, records(traffic, n, batch_size=20, batch_share=0.5), Ledger())
    worker = WorkerProcess(settings).start()
    try:
        wait_caught_up(settings, timeout_s=180, worker=worker)
        yield Site(settings, doc["tenants"])
    finally:
        worker.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed: make tools installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="package")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = Path(os.environ.get("OMNIMETER_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    where.mkdir(parents=True, exist_ok=True)
    return where


def sign_in(page: Page, site: Site, scope: str) -> None:
    page.goto(f"{site.base}/ui/signin")
    page.fill("#token", site.token(scope))
    page.click("#signin")
    page.wait_for_url("**/ui/overview**")
    assert page.inner_text("#scope") == scope


def cells(page: Page, section: str, column: str) -> list[str]:
    """The report's values of a column (each cell's data-value: the text is formatted for people)."""
    return page.eval_on_selector_all(
        f'#sec-{section} tbody > tr[data-row] > td[data-col="{column}"]',
        "els => els.map(e => e.dataset.value ?? e.textContent)",
    )


def texts(page: Page, section: str, column: str) -> list[str]:
    """What a person reads in a column."""
    return page.eval_on_selector_all(
        f'#sec-{section} tbody > tr[data-row] > td[data-col="{column}"]', "els => els.map(e => e.textContent)"
    )


def local(day: str, end: bool = False) -> str:
    """A day as the datetime-local inputs take it; `end`: the instant after the day (the period's Until)."""
    d = date.fromisoformat(day) + timedelta(days=1 if end else 0)
    return f"{d.isoformat()}T00:00"
