"""Prometheus metrics of the worker, in one module, on an injectable registry.

Base units (seconds, records, bytes), `_total` counters, bounded labels only: topic and partition
(bounded by the topic's partition count), reason (a closed set), table (a closed set), meter (the closed
set of pricing meters), party (platform, reseller). No per-tenant labels.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

import omnimeter
from omnimeter.streams.timing import StageTimes

if TYPE_CHECKING:
    from omnimeter.streams.flush import FlushResult
    from omnimeter.streams.records import ConsumedRecord

SHORT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
# event-time lag reaches hours when a producer or the worker is behind: buckets up to a day
# Fine around the freshness objectives (2 s and 5 s), so quantiles interpolated in a bucket stay close;
# then up to a day for late events.
LAG_BUCKETS = (
    0.1, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200,
    14400, 43200, 86400,
)  # fmt: skip


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self.build = Info("omnimeter_build", "Build of the running worker", registry=r)
        self.build.info({"version": omnimeter.__version__})
        self.records = Counter(
            "omnimeter_records_consumed_total", "Kafka records consumed", ["topic", "partition"], registry=r
        )
        self.record_bytes = Counter(
            "omnimeter_record_bytes_consumed_total", "Bytes of record values consumed", registry=r
        )
        self.events_stored = Counter("omnimeter_events_stored_total", "Usage events stored in raw_events", registry=r)
        self.duplicates = Counter("omnimeter_events_duplicate_total", "Usage events dropped as duplicates", registry=r)
        self.rejected = Counter(
            "omnimeter_events_rejected_total", "Records or events dead-lettered, by reason", ["reason"], registry=r
        )
        self.dead_letters = Counter(
            "omnimeter_dead_letters_published_total", "Records published to the dead-letter topic", registry=r
        )
        self.replayed = Counter(
            "omnimeter_events_replay_skipped_total",
            "Replayed outcomes skipped because they were already stored",
            registry=r,
        )
        self.lines = Counter(
            "omnimeter_billable_lines_total", "Billable lines written, by meter", ["meter"], registry=r
        )
        self.amounts = Counter(
            "omnimeter_billed_amount_total",
            "Amounts of billable lines (monitoring only; bills come from ClickHouse)",
            ["meter", "party"],
            registry=r,
        )
        self.reversed_amounts = Counter(
            "omnimeter_reversed_amount_total",
            "Amounts reversed by corrections of WhatsApp decisions (subtract from omnimeter_billed_amount_total)",
            ["meter", "party"],
            registry=r,
        )
        self.flush_seconds = Histogram(
            "omnimeter_flush_duration_seconds", "Duration of one ordered flush", buckets=SHORT_BUCKETS, registry=r
        )
        self.rollup_refresh = Histogram(
            "omnimeter_rollup_refresh_duration_seconds",
            "Duration of one rollup refresh (minute, hour and day buckets touched since the last)",
            buckets=SHORT_BUCKETS,
            registry=r,
        )
        self.report_lag = Histogram(
            "omnimeter_report_visible_lag_seconds",
            "Event time to visible in the report tables (rollups refreshed), per stored event",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.alerts_published = Counter(
            "omnimeter_alerts_published_total",
            "Alert events published on the alerts topic, by kind",
            ["kind"],
            registry=r,
        )
        self.alert_round_failures = Counter(
            "omnimeter_alert_round_failures_total",
            "Alert rounds (or tenants of a round) that failed; their tenants are measured again",
            registry=r,
        )
        self.rollup_refresh_failures = Counter(
            "omnimeter_rollup_refresh_failures_total", "Failed rollup refreshes (each is retried)", registry=r
        )
        self.sink_rows = Counter(
            "omnimeter_sink_rows_total",
            # the server does not say when it deduplicated a block (written_rows counts it either way)
            "Rows sent in inserts that succeeded; a block retried after an unknown outcome counts again even when "
            "the server deduplicates it (its rows are stored once: count the table for exact figures)",
            ["table"],
            registry=r,
        )
        self.insert_seconds = Histogram(
            "omnimeter_sink_insert_duration_seconds",
            "Duration of one insert",
            ["table"],
            buckets=SHORT_BUCKETS,
            registry=r,
        )
        self.insert_failures = Counter(
            "omnimeter_sink_insert_failures_total", "Failed insert attempts (each is retried)", ["table"], registry=r
        )
        self.lag = Gauge(
            "omnimeter_consumer_lag_records",
            "Log end offset minus the group's committed offset",
            ["topic", "partition"],
            registry=r,
        )
        self.last_offset = Gauge(
            "omnimeter_last_stored_offset",
            "Offset of the last record whose outcome is stored",
            ["topic", "partition"],
            registry=r,
        )
        self.last_event_ts = Gauge(
            "omnimeter_last_event_timestamp_seconds",
            "Event time of the newest event stored, per partition",
            ["topic", "partition"],
            registry=r,
        )
        self.event_lag_hist = Histogram(
            "omnimeter_event_lag_seconds",
            "Store time minus event time of each stored event",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.event_time_lag = Gauge(
            "omnimeter_event_time_lag_seconds", "Now minus the event time of the newest event stored", registry=r
        )
        self._consumed: dict[tuple[str, int], Counter] = {}
        self.stages = StageTimes()  # where the time goes, per stage (streams/timing.py)
        r.register(self.stages)
        self._newest_event = 0.0
        self.event_time_lag.set_function(lambda: time.time() - self._newest_event if self._newest_event else 0.0)
        self.rebalances = Counter("omnimeter_rebalances_total", "Consumer group generations seen", registry=r)
        self.gaps = Counter(
            "omnimeter_delivery_gaps_total",
            "Records Faust skipped on the way to the agent (re-read by seeking back)",
            registry=r,
        )
        self.gap_reseeks = Counter(
            "omnimeter_delivery_gap_reseeks_total",
            "Seeks repeated because the record sought back to did not arrive (the first seek was undone)",
            registry=r,
        )
        self.unpriced = Counter(
            "omnimeter_unpriced_lines_total",
            "Charged lines of a billable meter that the party's book does not price (a price book gap)",
            ["meter", "party"],
            registry=r,
        )
        self.whatsapp_corrections = Counter(
            "omnimeter_whatsapp_corrections_total",
            "WhatsApp decisions corrected by a late message (a reversal and a corrected line each)",
            registry=r,
        )
        self.whatsapp_past_horizon = Counter(
            "omnimeter_whatsapp_late_past_horizon_total",
            "Late WhatsApp messages timed before the window horizon: decisions they would change stand",
            registry=r,
        )
        self.provider_prices_ignored = Counter(
            "omnimeter_provider_prices_ignored_total",
            "Provider-reported prices on events their supplier does not bill (put the price on the billed event)",
            registry=r,
        )
        self.reference_refused = Counter(
            "omnimeter_reference_refused_total",
            "Reference data versions refused (reason: invalid, too_large, too_deep, alias, not_utf8, error)",
            ["kind", "reason"],
            registry=r,
        )
        self.reference_version = Gauge(
            "omnimeter_reference_version_info", "1 for the reference data version in force, per kind",
            ["kind", "version"], registry=r,
        )  # fmt: skip
        self._versions: dict[str, str] = {}
        self.paused = Gauge("omnimeter_worker_paused", "1 while consumption is paused by an operator", registry=r)
        self.up_since = Gauge("omnimeter_worker_start_time_seconds", "Start time of the worker", registry=r)
        self.up_since.set(time.time())

    def reference_applied(self, kind: str, version: str) -> None:
        old = self._versions.get(kind)
        if old is not None and old != version:
            self.reference_version.remove(kind, old)
        self._versions[kind] = version
        self.reference_version.labels(kind, version).set(1)

    def consumed(self, topic: str, partition: int, nbytes: int) -> None:
        child = self._consumed.get((topic, partition))
        if child is None:  # a label look-up per record was a share of single-event records: once per partition
            child = self._consumed[(topic, partition)] = self.records.labels(topic, str(partition))
        child.inc()
        self.record_bytes.inc(nbytes)

    def flushed(self, result: FlushResult, seconds: float, batch: Sequence[ConsumedRecord]) -> None:
        self.events_stored.inc(result.stored)
        self.duplicates.inc(result.duplicates)
        self.replayed.inc(result.skipped_replayed)
        self.dead_letters.inc(sum(result.rejected.values()))
        for reason, n in result.rejected.items():
            self.rejected.labels(reason).inc(n)
        for meter, (n, platform, reseller, rev_platform, rev_reseller) in result.meters.items():
            self.lines.labels(meter).inc(n)
            self.amounts.labels(meter, "platform").inc(float(platform))
            self.amounts.labels(meter, "reseller").inc(float(reseller))
            if rev_platform or rev_reseller:
                self.reversed_amounts.labels(meter, "platform").inc(float(rev_platform))
                self.reversed_amounts.labels(meter, "reseller").inc(float(rev_reseller))
        for (meter, party), n in result.unpriced.items():
            self.unpriced.labels(meter, party).inc(n)
        self.whatsapp_corrections.inc(result.corrections)
        self.whatsapp_past_horizon.inc(result.past_horizon)
        self.provider_prices_ignored.inc(result.provider_prices_ignored)
        self.flush_seconds.observe(seconds)
        now = time.time()
        last = {(rec.topic, rec.partition): rec.offset for rec in batch}  # the last delivered of each partition
        for (topic, partition), offset in last.items():
            self.last_offset.labels(topic, str(partition)).set(offset)
        for (topic, partition), newest in result.newest_event.items():
            self.last_event_ts.labels(topic, str(partition)).set(newest)
            self._newest_event = max(self._newest_event, newest)
        observe_many(self.event_lag_hist, [max(now - t, 0.0) for t in result.event_times])

    def keep_partitions(self, assigned: Collection[tuple[str, int]]) -> None:
        """Drops the per-partition gauges of partitions this worker no longer holds (their new owner
        exports them): a moved partition must not show this worker's stale offset or event time."""
        keep = {(t, str(p)) for t, p in assigned}
        for gauge in (self.last_offset, self.last_event_ts):
            for labels in [k for k in gauge._metrics if k not in keep]:  # prometheus-client keeps no public list
                gauge.remove(*labels)

    def inserted(self, table: str, rows: int, seconds: float) -> None:
        self.sink_rows.labels(table).inc(rows)
        self.insert_seconds.labels(table).observe(seconds)

    def insert_failed(self, table: str) -> None:
        self.insert_failures.labels(table).inc()

    def alert_published(self, kind: str) -> None:
        self.alerts_published.labels(kind).inc()

    def alert_round_failed(self) -> None:
        self.alert_round_failures.inc()

    def reported(self, event_times: list[float]) -> None:
        """The events whose lines the last rollup refresh made visible in the reports."""
        now = time.time()
        observe_many(self.report_lag, [max(now - t, 0.0) for t in event_times])


def observe_many(histogram: Histogram, values: list[float]) -> None:
    """`histogram.observe(v)` for every value, at the cost of one bisection per bucket instead of a walk
    through the buckets per value (two observations per stored event were a share of the flush). Reads
    prometheus-client's bucket fields; another version without them gets one `observe` per value."""
    bounds, buckets, total = (getattr(histogram, n, None) for n in ("_upper_bounds", "_buckets", "_sum"))
    if bounds is None or buckets is None or total is None:
        for v in values:
            histogram.observe(v)
        return
    if not values:
        return
    values = sorted(values)
    below = 0
    for bound, bucket in zip(bounds, buckets, strict=True):
        upto = bisect.bisect_right(values, bound)
        if upto > below:
            bucket.inc(upto - below)
            below = upto
    total.inc(math.fsum(values))
