"""A real Prometheus server scrapes a running worker: lag rises while the worker is paused and falls
back to 0 after it resumes; event-time lag is there too. Read through Prometheus' HTTP API."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnimeter.cli.simulate import Ledger
from omnimeter.cli.traffic import Traffic, build_world, records
from omnimeter.cli.workerproc import WorkerProcess, settings_env
from omnimeter.reports.scope import PLATFORM
from omnimeter.reports.tokens import issue, load_secret
from omnimeter.settings import Settings
from tests.conftest import free_port
from tests.kafka_io import produce_plain

pytestmark = pytest.mark.integration


@pytest.fixture
def prometheus(settings: Settings, tmp_path: Path) -> Iterator[str]:
    exe = shutil.which("prometheus")
    assert exe, "prometheus is missing: `make tools` installs Debian's prometheus package"
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: omnimeter-worker\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{settings.worker.web_port}']}}]\n"
    )
    proc = subprocess.Popen(
        [
            exe,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{url}/-/ready") is not None, 30, "prometheus ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.read()
    except OSError:
        return None


def _post(url: str, token: str) -> None:
    req = urllib.request.Request(url, method="POST", headers={"Authorization": f"Bearer {token}"})
    urllib.request.urlopen(req, timeout=5).read()


def query(prom: str, expr: str) -> float | None:
    body = _get(f"{prom}/api/v1/query?query={urllib.parse.quote(expr)}")
    if body is None:
        return None
    result = json.loads(body)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def wait_for(cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise TimeoutError(f"timed out waiting for {what}")


def test_lag_rises_while_paused_and_returns_to_zero(settings: Settings, prometheus: str) -> None:
    worker = WorkerProcess(settings).start()
    control = f"http://127.0.0.1:{settings.worker.web_port}"
    platform = issue(load_secret(settings.data_dir, settings.api.secret), PLATFORM)  # pausing needs a platform token
    lag = f'sum(omnimeter_consumer_lag_records{{topic="{settings.topics.usage}"}})'
    try:
        wait_for(lambda: query(prometheus, 'up{job="omnimeter-worker"}') == 1.0, 60, "worker scraped")
        wait_for(lambda: query(prometheus, lag) == 0.0, 60, "lag series at 0")
        # a cross-site form post (no bearer token; a browser would send the dashboard's cookie) is refused
        forged = urllib.request.Request(f"{control}/pause", data=b"", method="POST", headers={
            "Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=5)
        assert refused.value.code == 401
        assert b"omnimeter_worker_paused 0.0" in (_get(f"{control}/metrics") or b"")
        _post(f"{control}/pause", platform)
        traffic = Traffic(
            build_world(3), seed=3, start=datetime.now(UTC) - timedelta(minutes=5), step=timedelta(milliseconds=50)
        )
        produce_plain(settings.kafka.bootstrap, settings.topics.usage, records(traffic, 3000), Ledger())
        wait_for(lambda: (query(prometheus, lag) or 0) >= 3000, 60, "lag to show the 3000 waiting records")
        assert query(prometheus, "omnimeter_worker_paused") == 1.0
        time.sleep(3)
        high = query(prometheus, lag)  # still paused: the lag stays up
        _post(f"{control}/resume", platform)
        wait_for(lambda: query(prometheus, lag) == 0.0, 90, "lag back to 0 after resume")
        assert high is not None and high >= 3000
        stored = query(prometheus, "omnimeter_events_stored_total")
        assert stored == 3000.0
        event_lag = query(prometheus, "omnimeter_event_time_lag_seconds")
        assert event_lag is not None and event_lag > 0
        assert (query(prometheus, "sum(omnimeter_event_lag_seconds_count)") or 0) >= 3000

        proc = subprocess.run(
            [sys.executable, "-m", "omnimeter", "status", "--format", "json", "--interval", "0.5"],
            capture_output=True,
            text=True,
            env=settings_env(settings),
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        screen = json.loads(proc.stdout)
        assert screen["worker"][0]["state"] == "running"
        lag_rows = screen[f"consumer lag, group {settings.kafka.consumer_group}"]
        assert next(r for r in lag_rows if r["partition"] == "all")["lag"] == 0
    finally:
        assert worker.stop() == 0, worker.log_tail()
