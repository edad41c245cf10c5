"""Per-partition gauges follow the assignment: a partition moved to another worker is not exported here."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from omnimeter.streams.metrics import WorkerMetrics


def test_gauges_of_partitions_moved_away_are_dropped() -> None:
    registry = CollectorRegistry()
    m = WorkerMetrics(registry)
    for p in (0, 1, 2):
        m.last_offset.labels("usage", str(p)).set(100 + p)
        m.last_event_ts.labels("usage", str(p)).set(1_700_000_000 + p)
    m.keep_partitions({("usage", 1)})
    text = generate_latest(registry).decode()
    assert 'omnimeter_last_stored_offset{partition="1",topic="usage"} 101.0' in text
    for gone in ("0", "2"):
        assert f'last_stored_offset{{partition="{gone}"' not in text
        assert f'last_event_timestamp_seconds{{partition="{gone}"' not in text
    m.keep_partitions(set())
    assert "omnimeter_last_stored_offset{" not in generate_latest(registry).decode()
