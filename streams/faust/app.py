"""The Faust app, built by `create_app` (no import-time singleton), on the aiokafka transport.

One agent consumes the usage topic as raw bytes without auto-ack: a record is acked only by the flush
that stored its outcome, so Faust commits offsets after the ClickHouse insert, in order and without gaps.
A timer flushes what is pending every `flush_interval_s` even when traffic stops.

Stopping (SIGTERM) first stops the ingest stage (streams/ingest.py `stop`, within `STOP_GRACE_S`: a final
flush if the store answers, else the flush is cancelled) and abandons every record not acked by then, so
Faust's wait for un-acked records (kept on for revocations, where it is needed) returns at once; those
records are consumed again by the partition's next owner. A permanent store error stops the worker the
same way (`on_fatal`); `omnimeter worker` then exits non-zero with the message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import faust
from faust.types import EventT

from omnimeter.faults import Faults
from omnimeter.schemas.parse import ParseLimits
from omnimeter.settings import Settings
from omnimeter.sinks.base import Store
from omnimeter.sinks.rollups import Rollups
from omnimeter.streams.alerts import AlertStage
from omnimeter.streams.control import PauseSwitch
from omnimeter.streams.faust.gaps import GapGuard
from omnimeter.streams.faust.producer import FaustDeadLetters, ProducerBarrier
from omnimeter.streams.faust.rebalance import RebalanceHook
from omnimeter.streams.faust.windows import WindowCache
from omnimeter.streams.flush import Flush, FlushPolicy
from omnimeter.streams.ingest import IngestConfig, IngestStage
from omnimeter.streams.kafka_clients import faust_credentials
from omnimeter.streams.metrics import WorkerMetrics
from omnimeter.streams.mirror import ReferenceMirror
from omnimeter.streams.rate import RateStage
from omnimeter.streams.records import ConsumedRecord
from omnimeter.streams.reference import ReferenceData

log = logging.getLogger(__name__)
STOP_GRACE_S = 4.0  # of the 10 s a stopping worker may take; Faust's own shutdown needs the rest


class App(faust.App):
    """Faust's app with hooks run first when it stops, before Faust waits for un-acked records."""

    before_stop: list[Callable[[], Awaitable[None]]]

    async def on_stop(self) -> None:
        for hook in getattr(self, "before_stop", ()):
            try:
                await hook()
            except Exception:
                log.exception("stop hook failed")
        await super().on_stop()


def ingest_config(settings: Settings) -> IngestConfig:
    i = settings.ingest
    return IngestConfig(
        batch_max_events=i.batch_max_events,
        flush_interval_s=i.flush_interval_s,
        limits=ParseLimits(i.max_record_bytes, timedelta(seconds=i.max_future_skew_s), i.min_event_time),
    )


def flush_policy(settings: Settings) -> FlushPolicy:
    i = settings.ingest
    return FlushPolicy(dedupe_window=timedelta(days=i.dedupe_window_days), insert_retry_max_s=i.insert_retry_max_s)


def create_app(
    settings: Settings,
    store: Store,
    metrics: WorkerMetrics,
    reference: ReferenceData | None = None,
    switch: PauseSwitch | None = None,
    faults: Faults | None = None,
    on_fatal: Callable[[BaseException], None] | None = None,
    alerts: AlertStage | None = None,
) -> App:
    tuning = settings.faust
    datadir = settings.data_dir / "faust" / settings.worker.id
    datadir.mkdir(parents=True, exist_ok=True)
    app = App(
        settings.kafka.consumer_group,
        broker=f"kafka://{settings.kafka.bootstrap}",
        broker_credentials=faust_credentials(settings.kafka),
        datadir=str(datadir),
        store="rocksdb://",
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=tuning.commit_interval_s,
        broker_session_timeout=tuning.session_timeout_s,
        broker_heartbeat_interval=tuning.heartbeat_interval_s,
        broker_max_poll_records=tuning.max_poll_records,
        stream_buffer_maxsize=tuning.stream_buffer_maxsize,
        topic_partitions=settings.topics.usage_partitions,
        producer_compression_type=None if tuning.producer_compression == "none" else tuning.producer_compression,
        producer_linger=tuning.producer_linger_s,
        producer_max_batch_size=tuning.producer_max_batch_bytes,
        producer_max_request_size=tuning.producer_max_request_bytes,
    )
    # Values are WindowState.to_bytes() (raw serializer: encoded once, for both RocksDB and the changelog).
    windows = app.Table("whatsapp_windows", default=None, value_type=bytes, partitions=settings.topics.usage_partitions)

    hook = RebalanceHook()
    hook.connect(app)
    window_states = hook.register(WindowCache(windows))

    faults = faults if faults is not None else Faults(settings.faults)
    rating = RateStage(reference, store, window_states.peek, faults) if reference is not None else None
    flush = Flush(
        store, FaustDeadLetters(app, settings.topics.dlq, tuning.producer_max_request_bytes), flush_policy(settings),
        rating=rating,
        barrier=ProducerBarrier(app) if rating is not None else None, times=metrics.stages,
    )  # fmt: skip
    hook.register(flush.replay)
    hook.register(_PartitionGauges(metrics, app))
    if rating is not None:
        hook.register(rating.state)
    if alerts is not None:
        hook.register(alerts)
    stage = IngestStage(
        flush, ingest_config(settings), metrics, observer=window_states if rating else None,
        on_fatal=on_fatal, on_stop=getattr(store, "stop", None),
    )  # fmt: skip

    async def stop_stage() -> None:
        await stage.stop(STOP_GRACE_S)
        unacked = getattr(app.consumer, "_unacked_messages", None)  # Faust's: what wait_empty waits for
        if unacked:
            log.info("stopping: %d records not acked are left to the partitions' next owners", len(unacked))
            unacked.clear()

    app.before_stop = [stop_stage]
    mirror = ReferenceMirror(store, reference) if reference is not None else None
    usage = app.topic(
        settings.topics.usage, value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw"
    )

    # The guard also tells the hook when records of a new generation arrive (before Faust's signals, or
    # after, whichever is first).
    guard = GapGuard(
        settings.kafka,
        settings.kafka.consumer_group,
        app.consumer.seek,
        metrics,
        on_rebalance=hook.changed,
    )

    @app.agent(usage, name="ingest", concurrency=1)
    async def ingest(stream: faust.StreamT) -> None:
        if switch is not None:
            switch.bind(asyncio.get_running_loop())
        async for event in stream.noack().events():
            if switch is not None and not switch.running.is_set():
                await switch.running.wait()  # paused by an operator: hold this record until resumed
            msg = event.message
            if not await guard.admit(msg.tp, msg.topic, msg.partition, msg.offset, msg.generation_id):
                continue  # not acked: delivered again after the guard's seek
            await stage.add(
                ConsumedRecord(
                    msg.topic,
                    msg.partition,
                    msg.offset,
                    msg.value,
                    list(msg.headers or ()),
                    ack=_acker(stream, event),
                    key=msg.key,
                )
            )

    rollups = Rollups(store, lambda: reference.directory.time_zones() if reference and reference.directory else {})

    @app.task
    async def flush_when_due() -> None:
        rolled_up = -1  # refresh once at start: lines stored just before a crash are rolled up now
        while not app.should_stop:
            tick = min(settings.ingest.flush_interval_s, 1.0) / 4  # at most this long: records may arrive
            await asyncio.sleep(min(tick, max(stage.seconds_until_due(), 0.005)))
            await stage.flush_if_due()
            if mirror is not None:
                async with stage.lock:  # one ClickHouse caller at a time
                    await mirror.sync()
            if flush.lines_stored != rolled_up:
                seen, waiting, touched = flush.lines_stored, flush.not_yet_reported, flush.touched
                flush.not_yet_reported, flush.touched = [], set()
                try:
                    started = time.monotonic()
                    await asyncio.to_thread(metrics.stages.timed("rollup", rollups.refresh))
                    metrics.rollup_refresh.observe(time.monotonic() - started)
                    metrics.reported(waiting)
                    rolled_up = seen
                    if alerts is not None:
                        alerts.due(touched)  # their thresholds are measured on rollups that include them
                except Exception as e:  # the store is down: the next round recomputes the same buckets
                    flush.not_yet_reported = waiting + flush.not_yet_reported
                    flush.touched |= touched
                    metrics.rollup_refresh_failures.inc()
                    log.warning("rollup refresh failed (%s); retrying", e)

    if alerts is not None:

        @app.task
        async def alert_rounds() -> None:
            await alerts.run(lambda: app.should_stop)

    @app.timer(0.5)
    async def watch_deliveries() -> None:
        """Seeks that Faust undid, and partitions with records waiting that deliver none (streams/gaps.py)."""
        try:
            busy = stage.flushing or (switch is not None and not switch.running.is_set())
            # the usage topic's partitions only: the table's changelog partitions are Faust's to read
            assigned = {tp for tp in app.consumer.assignment() if tp.topic == settings.topics.usage}
            await guard.watch(assigned, app.consumer.highwater, busy)
        except Exception:  # a timer that raises stops for good: log it and try again next tick
            log.exception("delivery watch failed")

    app.omnimeter_stage = stage  # type: ignore[attr-defined]
    return app


class _PartitionGauges:
    """Per-partition gauges follow the assignment (streams/metrics.py `keep_partitions`)."""

    def __init__(self, metrics: WorkerMetrics, app: faust.App) -> None:
        self.metrics, self.app = metrics, app

    def partitions_changed(self) -> None:
        try:
            assigned = {(tp.topic, tp.partition) for tp in self.app.consumer.assignment()}
        except Exception as e:  # no consumer yet: nothing exported either
            log.debug("assignment not readable yet: %s", e)
            return
        self.metrics.keep_partitions(assigned)


def _acker(stream: faust.StreamT, event: EventT):  # type: ignore[no-untyped-def]
    async def ack() -> bool:
        return await stream.ack(event)

    return ack
