"""The exact account the ingest stage owes for what was produced: checked against ClickHouse and the DLQ."""

from __future__ import annotations

from collections import Counter

from omnimeter.cli.simulate import Ledger
from omnimeter.settings import Settings
from omnimeter.sinks.clickhouse import connect
from omnimeter.streams import deadletter as dlq
from tests.kafka_io import read_all


def assert_exact_account(settings: Settings, ledger: Ledger) -> dict[str, object]:
    """raw_events holds exactly the distinct valid events, once each; duplicates are counted; every
    malformed record is in rejected_events and on the dead-letter topic with its reason."""
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        db = store.db
        stored = store.query_rows(f"SELECT tenant_id, source, event_id FROM {db}.raw_events")
        dup_rows = store.query_rows(f"SELECT count() FROM {db}.duplicate_events")[0][0]
        rejected = Counter(r for (r,) in store.query_rows(f"SELECT reason FROM {db}.rejected_events"))
        rejected_positions = store.query_rows(
            f"SELECT count(), uniqExact(kafka_partition, kafka_offset, batch_index) FROM {db}.rejected_events"
        )[0]
    finally:
        store.close()

    keys = [tuple(r) for r in stored]
    counted_twice = len(keys) - len(set(keys))
    lost = ledger.valid - set(keys)
    assert counted_twice == 0, f"{counted_twice} events stored twice"
    assert not lost, f"{len(lost)} events lost, e.g. {sorted(lost)[:3]}"
    assert set(keys) == ledger.valid
    assert dup_rows == ledger.duplicate_sends
    assert rejected == ledger.malformed, f"dead-lettered {dict(rejected)} != expected {dict(ledger.malformed)}"
    assert rejected_positions[0] == rejected_positions[1]

    letters = read_all(settings.kafka.bootstrap, settings.topics.dlq)
    by_position: dict[tuple[bytes, bytes, bytes], str] = {}
    for letter in letters:
        h = letter.headers
        assert h[dlq.H_TOPIC].decode() == settings.topics.usage
        by_position[(h[dlq.H_PARTITION], h[dlq.H_OFFSET], h[dlq.H_INDEX])] = h[dlq.H_REASON].decode()
    assert Counter(by_position.values()) == ledger.malformed
    return {
        "stored": len(keys),
        "duplicates": dup_rows,
        "rejected": sum(rejected.values()),
        "dlq_records": len(letters),
        "dlq_distinct": len(by_position),
        "lost": len(lost),
        "double_counted": counted_twice,
    }
