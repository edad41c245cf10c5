"""Prometheus metrics of the worker, in one place, on an injectable registry.

Base units (seconds, bytes), `_total` counters, bounded labels: topic and partition (bounded by the
topic's partition count), reason (a closed set), table (a closed set). No per-tenant labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from streams.ingest import FlushResult
    from streams.records import ConsumedRecord

_INSERT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.records = Counter(
            "omnimeter_records_consumed_total", "Kafka records consumed", ["topic", "partition"], registry=r
        )
        self.record_bytes = Counter(
            "omnimeter_record_bytes_consumed_total", "Bytes of Kafka record values consumed", registry=r
        )
        self.events_stored = Counter("omnimeter_events_stored_total", "Usage events stored in raw_events", registry=r)
        self.duplicates = Counter("omnimeter_events_duplicate_total", "Usage events dropped as duplicates", registry=r)
        self.rejected = Counter(
            "omnimeter_events_rejected_total",
            "Records or events dead-lettered, by reason",
            ["reason"],
            registry=r,
        )
        self.replayed = Counter(
            "omnimeter_events_replay_skipped_total",
            "Replayed outcomes skipped because they were already stored",
            registry=r,
        )
        self.flush_seconds = Histogram(
            "omnimeter_flush_duration_seconds",
            "Duration of one ordered flush",
            buckets=_INSERT_BUCKETS,
            registry=r,
        )
        self.lines = Counter("omnimeter_billable_lines_total", "Billable lines written", registry=r)
        self.reference_refused = Counter(
            "omnimeter_reference_refused_total", "Reference data versions refused as invalid", ["kind"], registry=r
        )
        self.last_offset = Gauge(
            "omnimeter_last_stored_offset",
            "Offset of the last record whose outcome is stored",
            ["topic", "partition"],
            registry=r,
        )

    def consumed(self, topic: str, partition: int, nbytes: int) -> None:
        self.records.labels(topic, str(partition)).inc()
        self.record_bytes.inc(nbytes)

    def flushed(self, result: FlushResult, seconds: float, batch: Sequence[ConsumedRecord]) -> None:
        self.events_stored.inc(result.stored)
        self.lines.inc(result.lines)
        self.duplicates.inc(result.duplicates)
        self.replayed.inc(result.skipped_replayed)
        for reason, n in result.rejected.items():
            self.rejected.labels(reason).inc(n)
        self.flush_seconds.observe(seconds)
        for rec in batch:
            self.last_offset.labels(rec.topic, str(rec.partition)).set(rec.offset)
