"""Users get one clear message and exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import free_port


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnimeter", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.mark.integration
def test_worker_with_unreachable_clickhouse_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"http://127.0.0.1:{free_port()}"
    proc = run("worker", "--data-dir", str(tmp_path), "--clickhouse-url", url)
    assert proc.returncode == 2
    assert f"cannot open ClickHouse at {url}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_config_check_lists_every_problem() -> None:
    proc = run(
        "config",
        "check",
        env={
            "OMNIMETER_KAFKA_BOOTSTRAP": "nohost",
            "OMNIMETER_BATCH_MAX_EVENTS": "0",
            "OMNIMETER_CLICKHOUSE_URL": "ftp://x",
        },
    )
    assert proc.returncode == 2
    for field in ("kafka.bootstrap", "ingest.batch_max_events", "clickhouse.url"):
        assert field in proc.stderr
    assert "Traceback" not in proc.stderr
