"""AlertEvaluator.evaluate on a real chDB store: no exception escapes it; tenants it could not measure are
returned in `Measured.failed` (measured again next round)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from omnimeter.reports.alerts import AlertEvaluator
from omnimeter.sinks.clickhouse import connect


def test_no_reference_stored_fails_the_tenants_without_raising(tmp_path: Path) -> None:
    store = connect(f"chdb://{tmp_path / 'ch'}", "omnimeter_test")
    measured = AlertEvaluator(store).evaluate(["t2", "t1", "t1"], datetime(2026, 11, 1, 3, tzinfo=UTC))
    assert measured.alerts == [] and measured.failed == ["t1", "t2"]
