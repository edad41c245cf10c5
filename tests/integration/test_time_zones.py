"""A platform's day across tenants in three zones: every tenant is counted over the same hours.

Tenants in Pacific/Kiritimati (UTC+14), UTC and Pacific/Pago_Pago (UTC-11). Each sends one SMS at
2026-11-20T01:00Z and one at 2026-11-20T23:00Z, both inside the UTC day of 20 November. In Kiritimati the
second is already 21 November (13:00); in Pago Pago the first is still 19 November (14:00). The
platform's report for 20 November (UTC) must count 2 segments for each tenant, 6 in all, at 0.05 each:
0.30. (Counted by each tenant's local day, Kiritimati and Pago Pago would show 1 each and the total 4.)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnimeter.cli.simulate import Ledger
from omnimeter.cli.traffic import Record
from omnimeter.cli.workerproc import WorkerProcess, wait_caught_up
from omnimeter.reports.catalog import run_report
from omnimeter.reports.model import Request
from omnimeter.settings import Settings
from omnimeter.sinks.clickhouse import connect
from tests.integration.test_cycle_adjustments import SMS, _apply, _book
from tests.kafka_io import produce_plain

pytestmark = pytest.mark.integration
ZONES = {"east": "Pacific/Kiritimati", "utc": "UTC", "west": "Pacific/Pago_Pago"}


def _sms(tenant: str, n: int, at: datetime) -> Record:
    env = {"specversion": "1.0", "id": f"{tenant}-{n}", "source": "sms-gateway", "type": "message.sent",
           "time": at.isoformat(), "subject": tenant,
           "data": {"channel": "sms", "account": "+15550001", "contact": "+15551000", "sender_kind": "operator",
                    "body": "hi"}}  # fmt: skip
    return Record(tenant.encode(), json.dumps(env).encode(), [])


def test_the_platforms_day_counts_every_tenant_over_the_same_hours(settings: Settings, tmp_path: Path) -> None:
    tenants = "\n".join(
        f"- {{id: {t}, name: {t}, currency: USD, timezone: {z}, signup: '2026-01-01', cycle: monthly}}"
        for t, z in ZONES.items()
    )
    (tmp_path / "directory.yaml").write_text(f"version: tz-1\nresellers: []\ntenants:\n{tenants}\n")
    per_unit = {"model": "per_unit", "unit": "0.05"}
    (tmp_path / "prices.yaml").write_text(json.dumps({"books": [_book("direct", "platform", per_unit)]}))
    _apply(settings, "directory", tmp_path / "directory.yaml")
    _apply(settings, "prices", tmp_path / "prices.yaml")
    times = (datetime(2026, 11, 20, 1, tzinfo=UTC), datetime(2026, 11, 20, 23, tzinfo=UTC))
    recs = [_sms(t, n, at) for t in ZONES for n, at in enumerate(times)]
    produce_plain(settings.kafka.bootstrap, settings.topics.usage, recs, Ledger())
    worker = WorkerProcess(settings).start()
    try:
        wait_caught_up(settings, timeout_s=120, worker=worker)
    finally:
        assert worker.stop() == 0, worker.log_tail()
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        day = run_report(store, "services", Request(start="2026-11-20", end="2026-11-20", tz="UTC")).to_json()
        assert day["period"]["time_zone"] == "UTC" and day["period"]["from"] == "2026-11-20T00:00:00+00:00"
        (row,) = [r for r in day["sections"]["by_meter"] if r["meter"] == SMS]
        assert (row["quantity"], row["cost"]) == ("6", "0.30")
        for tenant in ZONES:
            mine = run_report(store, "services", Request(tenant=tenant, start="2026-11-20", end="2026-11-20",
                                                         tz="UTC")).to_json()  # fmt: skip
            (row,) = [r for r in mine["sections"]["by_meter"] if r["meter"] == SMS]
            assert row["quantity"] == "2", tenant
        # a tenant alone, in its own zone: its own local day (Kiritimati's 20 November holds only 01:00Z)
        local = run_report(store, "services", Request(tenant="east", start="2026-11-20", end="2026-11-20"))
        (row,) = [r for r in local.to_json()["sections"]["by_meter"] if r["meter"] == SMS]
        assert row["quantity"] == "1"
    finally:
        store.close()
