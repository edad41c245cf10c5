"""What the pipeline made of its input: stored events by type and channel, duplicates, dead letters."""

from __future__ import annotations

from omnimeter.reports.section import Section
from omnimeter.sinks.clickhouse import ClickHouseStore


def ingest_summary(store: ClickHouseStore) -> list[Section]:
    db = store.db
    by_type = store.query_rows(
        f"SELECT type, channel, count() AS events, uniqExact(tenant_id) AS tenants FROM {db}.raw_events "
        "GROUP BY type, channel ORDER BY type, channel"
    )
    totals = store.query_rows(
        f"SELECT (SELECT count() FROM {db}.raw_events), (SELECT count() FROM {db}.duplicate_events), "
        f"(SELECT count() FROM {db}.rejected_events), (SELECT max(event_time) FROM {db}.raw_events)"
    )[0]
    rejected = store.query_rows(
        f"SELECT reason, count() AS events, any(concat(field, ' ', detail)) AS example "
        f"FROM {db}.rejected_events GROUP BY reason ORDER BY reason"
    )
    return [
        Section("events stored by type and channel", ["type", "channel", "events", "tenants"], by_type),
        Section("totals", ["stored", "duplicates dropped", "dead-lettered", "newest event time"], [totals]),
        Section("dead-lettered by reason", ["reason", "events", "example"], rejected),
    ]
