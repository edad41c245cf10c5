"""The Faust app, built by `create_app` (no import-time singleton), on the aiokafka transport.

One agent consumes the usage topic as raw bytes without auto-ack: a record is acked only by the flush
that stored its outcome, so Faust commits offsets after the ClickHouse insert, in order and without gaps.
A timer flushes what is pending every `flush_interval_s` even when traffic stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta

import faust
from faust.types import EventT

from omnimeter.config import Settings
from pricing.units import window_step
from schemas.events import UsageEvent
from schemas.parse import ParseLimits
from sinks.clickhouse import ClickHouseStore
from sinks.rollups import Rollups
from streams.control import PauseSwitch
from streams.dlq import DeadLetter
from streams.gaps import GapGuard
from streams.ingest import IngestConfig, IngestStage
from streams.metrics import WorkerMetrics
from streams.mirror import ReferenceMirror
from streams.rate import RateStage
from streams.records import ConsumedRecord
from streams.reference import ReferenceData
from streams.window_cache import WindowCache

log = logging.getLogger(__name__)


class FaustDeadLetters:
    """Publishes dead letters with the app's producer and waits for every broker ack."""

    def __init__(self, app: faust.App, topic: str) -> None:
        self.app = app
        self.topic = topic

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        producer = self.app.producer
        futures = [await producer.send(self.topic, dl.key, dl.value, None, None, list(dl.headers)) for dl in letters]
        for fut in futures:
            await fut


def ingest_config(settings: Settings) -> IngestConfig:
    return IngestConfig(
        batch_max_events=settings.batch_max_events,
        flush_interval_s=settings.flush_interval_s,
        dedupe_window=timedelta(days=settings.dedupe_window_days),
        limits=ParseLimits(settings.max_record_bytes, timedelta(seconds=settings.max_future_skew_s)),
        insert_retry_max_s=settings.insert_retry_max_s,
    )


def create_app(
    settings: Settings,
    store: ClickHouseStore,
    metrics: WorkerMetrics,
    reference: ReferenceData | None = None,
    switch: PauseSwitch | None = None,
) -> faust.App:
    datadir = settings.data_dir / "faust" / settings.worker_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.consumer_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        datadir=str(datadir),
        store="rocksdb://",
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=0.5,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        broker_max_poll_records=2000,
        stream_buffer_maxsize=20_000,
        topic_partitions=settings.topics.usage_partitions,
        producer_compression_type="zstd",
        producer_linger=0.02,  # batch the window table's changelog writes (one per WhatsApp message)
        producer_max_batch_size=262_144,
    )
    # Values are WindowState.to_bytes() (raw serializer: encoded once, for both RocksDB and the changelog).
    windows = app.Table("whatsapp_windows", default=None, value_type=bytes, partitions=settings.topics.usage_partitions)

    window_states = WindowCache(windows)

    def observe_window(event: UsageEvent) -> None:
        """Apply an arriving event's change to its conversation's windows (runs in the agent's context, so
        the change goes to the changelog partition of the event's own partition)."""
        step = window_step(event, window_states.load)
        if step is not None and step[1] != window_states.load(step[0]):  # unchanged: no changelog write
            window_states.store(*step)  # (the second load is a cache hit)

    rating = RateStage(reference, store, window_states.peek) if reference is not None else None
    stage = IngestStage(
        store, FaustDeadLetters(app, settings.topics.dlq), ingest_config(settings), metrics,
        rating=rating, on_accepted=observe_window if rating is not None else None,
        before_ack=app.producer.flush if rating is not None else None,
    )  # fmt: skip
    mirror = ReferenceMirror(store, reference) if reference is not None else None
    usage = app.topic(
        settings.topics.usage, value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw"
    )

    # On a rebalance, forget cached window states: those of partitions that moved may have changed.
    guard = GapGuard(
        settings.kafka_bootstrap, settings.consumer_group, app.consumer.seek, metrics, on_rebalance=window_states.clear
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
                )
            )

    rollups = Rollups(store, lambda: reference.directory.time_zones() if reference and reference.directory else {})

    @app.task
    async def flush_when_due() -> None:
        rolled_up = -1  # refresh once at start: lines stored just before a crash are rolled up now
        while not app.should_stop:
            await asyncio.sleep(min(settings.flush_interval_s, 1.0) / 4)
            await stage.flush_if_due()
            if mirror is not None:
                async with stage.lock:  # one ClickHouse caller at a time
                    await mirror.sync()
            if stage.lines_stored != rolled_up:
                seen, waiting = stage.lines_stored, stage.not_yet_reported
                stage.not_yet_reported = []
                try:
                    started = time.monotonic()
                    await asyncio.to_thread(rollups.refresh)
                    metrics.rollup_refresh.observe(time.monotonic() - started)
                    metrics.reported(waiting)
                    rolled_up = seen
                except Exception as e:  # the store is down: the next round recomputes the same buckets
                    stage.not_yet_reported = waiting + stage.not_yet_reported
                    metrics.rollup_refresh_failures.inc()
                    log.warning("rollup refresh failed (%s); retrying", e)

    @app.timer(0.5)
    async def watch_deliveries() -> None:
        """Seeks that Faust undid, and partitions with records waiting that deliver none (streams/gaps.py)."""
        try:
            busy = stage.flushing or (switch is not None and not switch.running.is_set())
            await guard.watch(app.consumer.assignment(), app.consumer.highwater, busy)
        except Exception:  # a timer that raises stops for good: log it and try again next tick
            log.exception("delivery watch failed")

    app.omnimeter_stage = stage  # type: ignore[attr-defined]
    return app


def _acker(stream: faust.StreamT, event: EventT):  # type: ignore[no-untyped-def]
    async def ack() -> bool:
        return await stream.ack(event)

    return ack
