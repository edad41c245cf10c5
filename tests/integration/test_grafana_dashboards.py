"""Dashboards reference metrics the worker exports and SQL that runs on the real engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from omnimeter.sinks.clickhouse import connect
from omnimeter.streams.metrics import WorkerMetrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))


def targets(kind: str) -> list[str]:
    out = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for t in panel["targets"]:
                if kind in t:
                    out.append(t[kind])
    return out


def test_dashboards_exist_and_parse() -> None:
    assert {p.name for p in DASHBOARDS} == {"omnimeter-ops.json", "omnimeter-usage.json"}


def test_prometheus_queries_use_exported_metrics() -> None:
    metrics = WorkerMetrics()
    metrics.lag.labels("t", "0").set(1)
    metrics.rejected.labels("not_json").inc()
    metrics.records.labels("t", "0").inc()
    metrics.lines.labels("voice.calls").inc()
    metrics.insert_seconds.labels("raw_events").observe(0.1)
    metrics.insert_failures.labels("raw_events").inc()
    exported = set(re.findall(r"^(omnimeter_\w+?)(?:\{| )", generate_latest(metrics.registry).decode(), re.M))
    used = {m for expr in targets("expr") for m in re.findall(r"\bomnimeter_\w+", expr)}
    assert used and used <= exported, used - exported


@pytest.mark.integration
def test_clickhouse_queries_run_on_the_engine(tmp_path: Path) -> None:
    store = connect(f"chdb://{tmp_path / 'ch'}", "omnimeter")
    try:
        for sql in targets("rawSql"):
            runnable = re.sub(r"\$__timeFilter\((\w+)\)", r"\1 >= now() - INTERVAL 7 DAY", sql)
            store.query_rows(runnable)
    finally:
        store.close()
