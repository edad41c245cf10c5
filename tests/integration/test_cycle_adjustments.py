"""Report totals are cycle charges, through the real broker, worker and engine.

Source of the expected numbers: Stripe docs, "Usage-based pricing / tiered pricing" and Lago docs,
"Charge models / volume": a *volume* price charges every unit of the billing period at the tier the
period's total quantity falls in. Tiers here: "up to 2 at 1.00, then 0.50" (direct and wholesale) and "up
to 1 at 2.00, then 1.20" (retail). Three SMS segments in the cycle of November 2026, for a direct tenant
and for a reseller's tenant, arrive one by one and are priced at the running tier; the reports must
show the cycle charge and the adjustment. Every amount below is written by hand:

    direct: lines 1.00 + 1.00 + 0.50 = 2.50, charge 3 x 0.50 = 1.50, adjustment -1.00
    sub, platform (wholesale): the same, 2.50 / 1.50 / -1.00
    sub, reseller (retail): lines 2.00 + 1.20 + 1.20 = 4.40, charge 3 x 1.20 = 3.60, adjustment -0.80

The adjustment lands in the period holding the cycle's last day (reports/adjustments.py), so any
partition of November into periods adds up to the cycle charge.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from omnimeter.cli.simulate import Ledger
from omnimeter.cli.traffic import Record
from omnimeter.cli.workerproc import WorkerProcess, settings_env, wait_caught_up
from omnimeter.reports.billing_summary import billing_summary
from omnimeter.reports.catalog import run_report
from omnimeter.reports.model import Request
from omnimeter.reports.period import GroupBy
from omnimeter.reports.scope import Scope
from omnimeter.settings import Settings
from omnimeter.sinks.clickhouse import ClickHouseStore, connect
from tests.kafka_io import produce_plain

pytestmark = pytest.mark.integration
SMS = "sms.outbound.segments"
DIRECTORY = """
version: adj-1
resellers: [{id: r1, name: Reseller, currency: USD}]
tenants:
- {id: direct, name: Direct, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: monthly}
- {id: sub, name: Of a reseller, reseller: r1, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: monthly}
"""
WHOLESALE = {"model": "volume", "tiers": [{"up_to": 2, "unit": "1.00"}, {"unit": "0.50"}]}
RETAIL = {"model": "volume", "tiers": [{"up_to": 1, "unit": "2.00"}, {"unit": "1.20"}]}


def _book(audience: str, party: str, price: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{audience}-{party}", "version": "1", "effective_from": "2026-01-01T00:00:00Z",
            "audience": audience, "party": party, "billing": {}, "prices": {SMS: price}}  # fmt: skip


def _sms(tenant: str, n: int, day: int) -> Record:
    return sms_record(tenant, f"{tenant}-{n}", datetime(2026, 11, day, 12, tzinfo=UTC))


def sms_record(tenant: str, event_id: str, at: datetime) -> Record:
    """One SMS sent by `tenant` at `at`, keyed by its tenant."""
    env = {"specversion": "1.0", "id": event_id, "source": "sms-gateway", "type": "message.sent",
           "time": at.isoformat(), "subject": tenant,
           "data": {"channel": "sms", "account": "+15550001", "contact": "+15551000", "sender_kind": "operator",
                    "body": "hi"}}  # fmt: skip
    return Record(tenant.encode(), json.dumps(env).encode(), [])


def metered(
    settings: Settings, tmp_path: Path, directory: str, books: list[dict[str, Any]], recs: list[Record]
) -> ClickHouseStore:
    """Apply `directory` and `books` with the CLI, produce `recs`, let a worker meter them and stop; returns
    the store, opened (the caller closes it)."""
    (tmp_path / "directory.yaml").write_text(directory)
    (tmp_path / "prices.yaml").write_text(json.dumps({"books": books}))
    _apply(settings, "directory", tmp_path / "directory.yaml")
    _apply(settings, "prices", tmp_path / "prices.yaml")
    produce_plain(settings.kafka.bootstrap, settings.topics.usage, recs, Ledger())
    worker = WorkerProcess(settings).start()
    try:
        wait_caught_up(settings, timeout_s=120, worker=worker)
    finally:
        assert worker.stop() == 0, worker.log_tail()
    return connect(settings.resolved_clickhouse_url, settings.clickhouse.database)


def _apply(settings: Settings, kind: str, path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "omnimeter", kind, "apply", str(path)], capture_output=True,
                          text=True, env=settings_env(settings), timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr


def _row(report: dict[str, Any], section: str, **match: str) -> dict[str, Any]:
    (row,) = [r for r in report["sections"][section] if all(r[k] == v for k, v in match.items())]
    return row


def test_reports_show_the_cycle_charge_and_its_adjustment(settings: Settings, tmp_path: Path) -> None:
    books = [_book("direct", "platform", WHOLESALE), _book("wholesale", "platform", WHOLESALE),
             _book("retail", "r1", RETAIL)]  # fmt: skip
    recs = [_sms(t, n, day) for t in ("direct", "sub") for n, day in enumerate((3, 10, 17))]
    store = metered(settings, tmp_path, DIRECTORY, books, recs)
    try:

        def report(name: str, first: str, last: str, **kw: Any) -> dict[str, Any]:
            return run_report(store, name, Request(start=first, end=last, **kw)).to_json()

        november = report("services", "2026-11-01", "2026-11-30", tenant="direct")
        got = _row(november, "by_meter", meter=SMS)
        assert (got["lines_cost"], got["adjustment"], got["cost"]) == ("2.50", "-1.00", "1.50")
        assert november["sections"]["adjustments"] == [
            {"tenant_id": "direct", "cycle_start": "2026-11-01", "meter": SMS, "adjustment": "-1.00",
             "currency": "USD"}
        ]  # fmt: skip
        both = report("services", "2026-11-01", "2026-11-30")  # the platform: what each tenant pays
        got = _row(both, "by_meter", meter=SMS)
        assert (got["lines_cost"], got["adjustment"], got["cost"]) == ("6.90", "-1.80", "5.10")  # 2.50+4.40

        # weeks of November: lines of each week, the adjustment in the week holding 30 November
        weeks = [("2026-11-01", "2026-11-07"), ("2026-11-08", "2026-11-14"), ("2026-11-15", "2026-11-21"),
                 ("2026-11-22", "2026-11-30")]  # fmt: skip
        costs = []
        for first, last in weeks:
            rows = report("services", first, last, tenant="direct")["sections"]["by_meter"]
            costs.append(D(rows[0]["cost"]) if rows else D(0))
        assert costs == [D("1.00"), D("1.00"), D("0.50"), D("-1.00")]
        assert sum(costs) == D("1.50")

        resellers = report("resellers", "2026-11-01", "2026-11-30")
        company = _row(resellers, "companies", company_id="sub")
        assert (company["total_price_platform"], company["total_price_reseller"]) == ("1.50", "3.60")
        assert _row(resellers, "text_messaging", company_id="sub")["price_sms"] == "3.60"
        assert resellers["sections"]["adjustments"] == [
            {"company_id": "sub", "cycle_start": "2026-11-01", "meter": SMS, "adjustment_platform": "-1.00",
             "currency_platform": "USD", "adjustment_reseller": "-0.80", "currency_reseller": "USD"}
        ]  # fmt: skip

        usage = report("usage", "2026-11-01", "2026-11-30", group_by=GroupBy.MONTH)
        month = [r for r in usage["sections"]["usage"] if r["period"] == "2026-11-01" and r["cost"] != "0.00"]
        assert [(r["cost"], r["adjustment"]) for r in month] == [("5.10", "-1.80")]

        cycle = run_report(store, "cycle", Request(tenant="sub", cycle="2026-11-15")).to_json()
        sms = _row(cycle, "charges_by_party", meter=SMS)
        assert (sms["lines_platform"], sms["charge_platform"], sms["adjustment_platform"]) == ("2.50", "1.50", "-1.00")
        assert (sms["lines_reseller"], sms["charge_reseller"], sms["adjustment_reseller"]) == ("4.40", "3.60", "-0.80")

        (summary,) = billing_summary(store)  # `omnimeter status`; 6 lines: 3 segments, 3 sent (a count)
        assert sorted(summary.rows) == [
            ("direct", "(direct)", 6, 0, "1.50 USD", "-1.00 USD", "", ""),
            ("sub", "r1", 6, 0, "1.50 USD", "-1.00 USD", "3.60 USD", "-0.80 USD"),
        ]
    finally:
        store.close()


def test_a_resellers_tenant_never_sees_the_platforms_price_and_history_stays_with_its_reseller(
    settings: Settings, tmp_path: Path
) -> None:
    """Found by the red team: (1) with no retail book in force for the cycle, the tenant's cycle page fell
    back to the price to platform; (2) after the tenant moved to another reseller, that reseller read the
    first one's prices of the tenant's earlier cycles."""
    retail_later = {**_book("retail", "r1", RETAIL), "effective_from": "2026-12-01T00:00:00Z"}
    books = [_book("direct", "platform", WHOLESALE), _book("wholesale", "platform", WHOLESALE), retail_later]
    store = metered(settings, tmp_path, DIRECTORY, books, [_sms("sub", n, d) for n, d in enumerate((3, 10, 17))])
    try:
        as_sub = Scope.parse("tenant:sub")
        cycle = run_report(store, "cycle", Request(tenant="sub", cycle="2026-11-15"), as_sub).to_json()
        shown = json.dumps(cycle["sections"])
        assert not any(v in shown for v in ('"1.50"', '"2.50"', '"-1.00"', "volume")), shown  # the wholesale's
        assert cycle["sections"]["charges_by_party"] == []
        platform = run_report(store, "cycle", Request(tenant="sub", cycle="2026-11-15")).to_json()
        (both,) = [r for r in platform["sections"]["charges_by_party"] if r["meter"] == SMS]
        assert (both["charge_platform"], both["charge_reseller"]) == ("1.50", "0")  # the platform still sees it

        moved = (
            DIRECTORY.replace("version: adj-1", "version: adj-2")
            .replace(
                "resellers: [{id: r1, name: Reseller, currency: USD}]",
                "resellers: [{id: r1, name: Reseller, currency: USD}, {id: r2, name: Other, currency: USD}]",
            )
            .replace("reseller: r1,", "reseller: r2,")
        )
        store.client.insert(
            f"{store.db}.reference_versions", [["directory", "adj-2", datetime.now(UTC), moved]],
            column_names=["kind", "version", "applied_at", "source"],
        )  # fmt: skip
        as_r2 = Scope.parse("reseller:r2")
        nov = Request(start="2026-11-01", end="2026-11-30")
        resellers = run_report(store, "resellers", nov, as_r2).to_json()["sections"]
        (company,) = resellers["companies"]
        assert (company["company_id"], company["total_price_platform"]) == ("sub", "0.00")  # r1's era: not r2's
        assert resellers["adjustments"] == []
        services = run_report(store, "services", nov, as_r2).to_json()["sections"]
        assert services["by_meter"] == [] and services["adjustments"] == []
    finally:
        store.close()
