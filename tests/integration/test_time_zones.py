"""A platform's day across tenants in three zones: every tenant is counted over the same hours.

Tenants in Pacific/Kiritimati (UTC+14), UTC and Pacific/Pago_Pago (UTC-11). Each sends one SMS at
2026-11-20T01:00Z and one at 2026-11-20T23:00Z, both inside the UTC day of 20 November. In Kiritimati the
second is already 21 November (13:00); in Pago Pago the first is still 19 November (14:00). The
platform's report for 20 November (UTC) must count 2 segments for each tenant, 6 in all, at 0.05 each:
0.30. (Counted by each tenant's local day, Kiritimati and Pago Pago would show 1 each and the total 4.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnimeter.reports.catalog import run_report
from omnimeter.reports.model import Request
from omnimeter.settings import Settings
from tests.integration.test_cycle_adjustments import SMS, _book, metered, sms_record

pytestmark = pytest.mark.integration
ZONES = {"east": "Pacific/Kiritimati", "utc": "UTC", "west": "Pacific/Pago_Pago"}


def test_the_platforms_day_counts_every_tenant_over_the_same_hours(settings: Settings, tmp_path: Path) -> None:
    tenants = "\n".join(
        f"- {{id: {t}, name: {t}, currency: USD, timezone: {z}, signup: '2026-01-01', cycle: monthly}}"
        for t, z in ZONES.items()
    )
    per_unit = {"model": "per_unit", "unit": "0.05"}
    times = (datetime(2026, 11, 20, 1, tzinfo=UTC), datetime(2026, 11, 20, 23, tzinfo=UTC))
    recs = [sms_record(t, f"{t}-{n}", at) for t in ZONES for n, at in enumerate(times)]
    directory = f"version: tz-1\nresellers: []\ntenants:\n{tenants}\n"
    store = metered(settings, tmp_path, directory, [_book("direct", "platform", per_unit)], recs)
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
