"""Alerts as events through the real broker, worker and engine (issue 19, point 3 and 4).

Books: the platform charges 1.00 per SMS segment (direct); the SMS aggregator's cost deck knows the
prefixes 1 and 44 (so lines to +1 and +44 carry that destination prefix). Thresholds of `acme` (USD, UTC,
monthly from 2026-01-01): cycle spend 8.00 and 10.00; a commitment of 10 SMS segments and a carrier credit
of 10.00, both alerted at 80 % and 100 %.

By hand: 8 one-segment SMS to +1 this cycle = 8 segments, 8.00 USD: cycle spend 8.00 reached (not 10.00),
commitment 8/10 = 80 % and credit 8.00/10.00 = 80 %: three alerts. Three more SMS: 11 segments, 11.00 USD:
spend 10.00, commitment 110 % and credit 110 % reach 100 %: three more, six in all, each once, also after
the worker is SIGKILLed before it could publish, restarted, and after every record is replayed by a new
consumer group (all duplicates: no line, no alert twice).

Pumping (`pump`, guard: baseline 7 days, factor 5, at least 20 events in an hour): 14 SMS to +44 spread
over the 7 days before this hour (a baseline of 14 / 168 = 0.0833 per hour), then 30 SMS to +44 in this
hour: 30 >= 20 and 30 > 5 x 0.0833: one pumping alert with the prefix, the count and the baseline. 5 SMS to
+1 in the same hour stay below the minimum: no alert. The events are billed as usual (44 lines of 1.00).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from omnimeter.cli.traffic import Record
from omnimeter.cli.workerproc import WorkerProcess, wait_caught_up
from omnimeter.reports.catalog import run_report
from omnimeter.reports.model import Request
from omnimeter.reports.scope import Scope
from omnimeter.settings import Settings
from omnimeter.sinks.clickhouse import connect
from tests.integration.test_cycle_adjustments import _apply
from tests.kafka_io import Ledger, produce_plain, read_all

pytestmark = pytest.mark.integration
SMS = "sms.outbound.segments"
ENV = {"OMNIMETER_ALERT_INTERVAL_S": "1"}

DIRECTORY = """
version: alerts-1
tenants:
- id: acme
  currency: USD
  timezone: UTC
  signup: '2026-01-01'
  commitments: [{meter: sms.outbound.segments, included: 10}]
  carrier_credit: '10.00'
  alerts: {cycle_spend: ['8.00', '10.00'], commitment_percent: [80, 100], credit_percent: [80, 100]}
- id: pump
  currency: USD
  timezone: UTC
  signup: '2026-01-01'
  alerts:
    pumping: {baseline_days: 7, factor: 5, min_events: 20, high_risk_min_events: 10}
"""
BOOKS = {
    "books": [
        {"id": "direct", "version": "1", "effective_from": "2026-01-01T00:00:00Z", "audience": "direct",
         "party": "platform", "billing": {}, "prices": {SMS: {"unit": "1.00"}}},
        {"id": "aggregator", "version": "1", "effective_from": "2026-01-01T00:00:00Z", "audience": "cost",
         "party": "aggregator", "billing": {}, "prices": {SMS: {"by_prefix": {"1": "0.0079", "44": "0.0350"}}}},
    ]
}  # fmt: skip


def _sms(tenant: str, event_id: str, at: datetime, contact: str) -> Record:
    env = {"specversion": "1.0", "id": event_id, "source": "sms-gateway", "type": "message.sent",
           "time": at.isoformat(), "subject": tenant,
           "data": {"channel": "sms", "account": "+15550001", "contact": contact, "sender_kind": "operator",
                    "body": "hi"}}  # fmt: skip
    return Record(tenant.encode(), json.dumps(env).encode(), [])


def _alerts(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(letter.value) for letter in read_all(settings.kafka.bootstrap, settings.topics.alerts)]


def _wait_for(settings: Settings, n: int, worker: WorkerProcess, timeout_s: float = 90) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    got: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        got = _alerts(settings)
        if len(got) >= n:
            return got
        assert worker.alive(), worker.log_tail()
        time.sleep(0.5)
    raise AssertionError(f"{len(got)} alerts, expected {n}: {[a['type'] for a in got]}\n{worker.log_tail()}")


def _crossed(alerts: list[dict[str, Any]]) -> Counter[tuple[str, str, str, str]]:
    return Counter((a["type"], a["data"]["tenant_id"], a["data"]["subject"], a["data"]["threshold"]) for a in alerts)


def test_each_threshold_publishes_one_alert_per_cycle_across_a_sigkill_and_a_replay(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "directory.yaml").write_text(DIRECTORY)
    (tmp_path / "prices.yaml").write_text(json.dumps(BOOKS))
    _apply(settings, "directory", tmp_path / "directory.yaml")
    _apply(settings, "prices", tmp_path / "prices.yaml")
    now = datetime.now(UTC)
    at = max(now - timedelta(minutes=2), now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    bootstrap, usage = settings.kafka.bootstrap, settings.topics.usage

    worker = WorkerProcess(settings, env=ENV).start()
    try:
        produce_plain(bootstrap, usage, [_sms("acme", f"a{i}", at, "+15551000") for i in range(8)], Ledger())
        first = _wait_for(settings, 3, worker)
        time.sleep(3)  # a few more rounds: nothing more may come
        assert _crossed(_alerts(settings)) == Counter({
            ("omnimeter.alert.cycle_spend", "acme", "", "8"): 1,
            ("omnimeter.alert.commitment", "acme", SMS, "80"): 1,
            ("omnimeter.alert.credit", "acme", "", "80"): 1,
        })  # fmt: skip
        spend = next(a for a in first if a["type"] == "omnimeter.alert.cycle_spend")
        assert spend["specversion"] == "1.0" and spend["source"] == "omnimeter/alerts" and spend["subject"] == "acme"
        assert spend["data"]["observed"] == "8" and spend["data"]["currency"] == "USD"
        assert (
            spend["data"]["period_start"] == now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).isoformat()
        )

        assert worker.stop() == 0, worker.log_tail()

        # three more, stored by a worker whose first alert round is 10 minutes away: it is SIGKILLed after
        # storing them (their offsets committed), before it could publish
        worker = WorkerProcess(settings, env={"OMNIMETER_ALERT_INTERVAL_S": "600"}).start()
        produce_plain(bootstrap, usage, [_sms("acme", f"b{i}", at, "+15551000") for i in range(3)], Ledger())
        wait_caught_up(settings, timeout_s=120, worker=worker)
        worker.kill()
        assert len(_alerts(settings)) == 3
        worker = WorkerProcess(settings, env=ENV).start()
        _wait_for(settings, 6, worker)
        time.sleep(3)
        assert worker.stop() == 0, worker.log_tail()

        # every record again, through a new consumer group: duplicates only
        replay = settings.model_copy(
            update={"kafka": settings.kafka.model_copy(update={"consumer_group": settings.kafka.consumer_group + "-r"})}
        )
        worker = WorkerProcess(replay, env=ENV).start()
        wait_caught_up(replay, timeout_s=120, worker=worker)
        time.sleep(4)
        assert worker.stop() == 0, worker.log_tail()
    finally:
        worker.stop()

    alerts = _alerts(settings)
    assert _crossed(alerts) == Counter({
        ("omnimeter.alert.cycle_spend", "acme", "", "8"): 1,
        ("omnimeter.alert.cycle_spend", "acme", "", "10"): 1,
        ("omnimeter.alert.commitment", "acme", SMS, "80"): 1,
        ("omnimeter.alert.commitment", "acme", SMS, "100"): 1,
        ("omnimeter.alert.credit", "acme", "", "80"): 1,
        ("omnimeter.alert.credit", "acme", "", "100"): 1,
    }), [a["data"]["message"] for a in alerts]  # fmt: skip
    top = next(a for a in alerts if a["data"]["threshold"] == "10")
    assert top["data"]["observed"] == "11"
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        rows = store.query_rows(f"SELECT alert_id, type FROM {store.db}.alerts FINAL ORDER BY type, alert_id")
        assert sorted(r[0] for r in rows) == sorted(a["id"] for a in alerts)
        (lines,) = store.query_rows(
            f"SELECT countIf(meter = '{SMS}'), sum(amount_platform) FROM {store.db}.billable_lines"
        )
        assert lines[0] == 11 and str(lines[1]) == "11.000000"

        # the alerts report: the platform and the tenant see acme's six, another tenant none
        def seen(scope: str) -> dict[str, Any]:
            return run_report(store, "alerts", Request(period="this-month"), Scope.parse(scope)).to_json()

        for scope in ("platform", "tenant:acme"):
            doc = seen(scope)
            assert sorted(r["alert_id"] for r in doc["sections"]["alerts"]) == sorted(a["id"] for a in alerts)
            counts = {r["kind"]: r["alerts"] for r in doc["sections"]["summary"]}
            assert counts == {"cycle_spend": 2, "commitment": 2, "credit": 2, "prefix_spend": 0, "pumping": 0}
        other = seen("tenant:pump")
        assert other["sections"]["alerts"] == [] and all(r["alerts"] == 0 for r in other["sections"]["summary"])
    finally:
        store.close()


def test_a_pumping_burst_to_one_prefix_raises_one_alert_with_its_evidence(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "directory.yaml").write_text(DIRECTORY)
    (tmp_path / "prices.yaml").write_text(json.dumps(BOOKS))
    _apply(settings, "directory", tmp_path / "directory.yaml")
    _apply(settings, "prices", tmp_path / "prices.yaml")
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    at = max(now - timedelta(seconds=30), hour)
    baseline = [_sms("pump", f"base{i}", hour - timedelta(hours=12 * i + 3), "+447700900123") for i in range(14)]
    burst = [_sms("pump", f"burst{i}", at, "+447700900123") for i in range(30)]
    usual = [_sms("pump", f"us{i}", at, "+15551000") for i in range(5)]
    worker = WorkerProcess(settings, env=ENV).start()
    try:
        produce_plain(settings.kafka.bootstrap, settings.topics.usage, baseline + burst + usual, Ledger())
        (alert,) = _wait_for(settings, 1, worker)
        wait_caught_up(settings, timeout_s=120, worker=worker)
        time.sleep(3)
        assert worker.stop() == 0, worker.log_tail()
    finally:
        worker.stop()
    assert len(_alerts(settings)) == 1
    assert alert["type"] == "omnimeter.alert.pumping" and alert["data"]["subject"] == "44"
    evidence = alert["data"]["evidence"]
    assert evidence["prefix"] == "44" and evidence["count"] == 30 and evidence["baseline_per_hour"] == "0.0833"
    assert evidence["window_start"] == hour.isoformat() and evidence["baseline_days"] == 7
    assert evidence["high_risk"] is False
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:  # billed as usual
        (row,) = store.query_rows(
            f"SELECT countIf(meter = '{SMS}'), sum(amount_platform), countIf(meter = '{SMS}' AND "
            f"destination_prefix = '44') FROM {store.db}.billable_lines"
        )
        assert row[0] == 49 and str(row[1]) == "49.000000" and row[2] == 44
    finally:
        store.close()
