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


def test_many_observations_at_once_give_the_histogram_one_at_a_time_gives() -> None:
    from prometheus_client import Histogram

    from omnimeter.streams.metrics import LAG_BUCKETS, observe_many

    values = [0.0, 0.1, 0.1000001, 0.3, 2.0, 2.0, 4.99, 5.0, 86400.0, 86400.5, 1e9, 0.05]
    texts = []
    for bulk in (False, True):
        registry = CollectorRegistry()
        h = Histogram("lag_seconds", "lag", buckets=LAG_BUCKETS, registry=registry)
        if bulk:
            observe_many(h, values[:5])
            observe_many(h, [])
            observe_many(h, values[5:])
        else:
            for v in values:
                h.observe(v)
        texts.append([ln for ln in generate_latest(registry).decode().splitlines() if "_created" not in ln])
    assert texts[0] == texts[1]
    assert 'lag_seconds_bucket{le="0.1"} 3.0' in texts[1] and 'lag_seconds_bucket{le="+Inf"} 12.0' in texts[1]
