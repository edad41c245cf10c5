"""The ingest stage: records are parsed and validated as they arrive (schemas/parse.py) and held until a
flush, which happens when `batch_max_events` outcomes are pending or `flush_interval_s` has passed. The
flush itself (streams/flush.py) runs in the background while the next batch fills: one at a time, in
delivery order, so acks (and offset commits) stay in order and each flush sees what the one before
stored.

Failures heal in place rather than by a seek back. A flush that fails (the store or the broker away, a
look-up that could not answer) keeps its records un-acked and is run again on the same batch, with
backoff, until it succeeds; the agent meanwhile fills the next batch and then waits, so memory stays
bounded (one batch in flight, one pending, Faust's buffer) and the consumer keeps its partitions. Dropping
the batch and seeking back to its first offset (quix-streams' answer to sink back-pressure) was not
chosen: Faust can undo a seek (streams/faust/gaps.py), and re-reading buys nothing while the store is
down. A `Permanent` error (authentication, a missing table, a schema mismatch) is not retried: the stage
stops taking records and `on_fatal` stops the worker, which exits non-zero with the message.

`stop` (SIGTERM) ends within its grace period whatever is being retried: it flushes what is pending if
the store answers in time, else cancels the flush and abandons the un-acked records (they are consumed
again by the partition's next owner; nothing of them is acked).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from omnimeter.errors import ConfigError, OmnimeterError, Permanent
from omnimeter.schemas.events import UsageEvent
from omnimeter.schemas.parse import Accepted, ParseLimits, parse_record
from omnimeter.streams.flush import Flush, FlushResult
from omnimeter.streams.metrics import WorkerMetrics
from omnimeter.streams.records import ConsumedRecord

log = logging.getLogger(__name__)
CPU_SAMPLE = 16  # one record in this many is timed on the thread's CPU clock too (scaled by it)
CPU_SAMPLE_ALWAYS_BYTES = 4096  # records larger than this (batches) are each timed on the CPU clock


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class IngestConfig:
    batch_max_events: int = 20_000
    flush_interval_s: float = 1.0
    limits: ParseLimits = field(default_factory=ParseLimits)


class ArrivalObserver(Protocol):
    def observe(self, event: UsageEvent) -> None:
        """Sees every accepted event when its record arrives, in delivery order (the agent's context)."""
        ...


class IngestStage:
    """Holds pending records and hands them to `flush` in order. One instance per worker process. The
    Faust agent (`add`) and the flush timer (`flush_if_due`) both cut batches."""

    def __init__(
        self,
        flush: Flush,
        config: IngestConfig,
        metrics: WorkerMetrics,
        *,
        clock: Callable[[], datetime] = utc_now,
        observer: ArrivalObserver | None = None,
        on_fatal: Callable[[BaseException], None] | None = None,
        on_stop: Callable[[], None] | None = None,
        backoff: tuple[float, float] = (0.1, 5.0),
    ) -> None:
        self.flusher = flush
        self.config = config
        self.metrics = metrics
        self.clock = clock
        self.observer = observer
        self._pending: list[ConsumedRecord] = []
        self._pending_outcomes = 0
        self._timed = 0  # records timed (one in CPU_SAMPLE also on the CPU clock)
        self._pending_positions: set[tuple[str, int, int]] = set()
        self._last_flush = clock()
        self.lock = asyncio.Lock()  # held by the flush that runs (the mirror sync also takes it)
        self._cutting = asyncio.Lock()
        self._in_flight: asyncio.Task[FlushResult] | None = None
        self.on_fatal, self.on_stop, self.backoff = on_fatal, on_stop, backoff
        self.fatal: BaseException | None = None  # a permanent error: nothing more is taken or flushed
        self.stopping = False
        self.failed_flushes = 0  # flushes run again after a failure (tests and metrics read it)

    async def add(self, record: ConsumedRecord) -> None:
        """Takes a delivered record. A full batch is handed to a background flush, so the agent goes on
        reading while ClickHouse works; it waits only when the flush before is still running. Once the
        stage stops (or met a permanent error) records are not taken: never acked, consumed again."""
        if self.stopping or self.fatal is not None:
            return
        position = (record.topic, record.partition, record.offset)
        if position in self._pending_positions:
            # Delivered again before its first copy was flushed (Faust re-seeks on a rebalance): the first
            # copy accounts for it; this one is only acked with it.
            self._pending.append(record)
            return
        # Wall time of every record; CPU time of every batch record and of every CPU_SAMPLE-th other one,
        # scaled (a CPU clock read is a system
        # call: two per record cost a measurable share of single-event records; the wall clock is not one,
        # but on a loaded machine it also counts the time the thread waited for a core).
        times = self.metrics.stages
        self._timed += 1
        big = len(record.value or b"") > CPU_SAMPLE_ALWAYS_BYTES  # a batch record: always on the CPU clock
        sample, weight = (True, 1) if big else (self._timed % CPU_SAMPLE == 0, CPU_SAMPLE)
        started, cpu0 = time.perf_counter(), time.thread_time() if sample else 0.0
        record.outcomes = parse_record(record.value, self.clock(), self.config.limits, record.key)
        parsed, cpu1 = time.perf_counter(), time.thread_time() if sample else 0.0
        times.add("parse", parsed - started, (cpu1 - cpu0) * weight)
        if self.observer is not None:
            for o in record.outcomes:
                if isinstance(o, Accepted):
                    self.observer.observe(o.event)
            observed, cpu2 = time.perf_counter(), time.thread_time() if sample else 0.0
            times.add("window", observed - parsed, (cpu2 - cpu1) * weight)
        self.metrics.consumed(record.topic, record.partition, len(record.value or b""))
        self._pending.append(record)
        self._pending_positions.add(position)
        self._pending_outcomes += len(record.outcomes)
        if self._pending_outcomes >= self.config.batch_max_events:
            await self._cut()

    def seconds_until_due(self) -> float:
        """How long until the pending records are due for a flush (the timer sleeps that long, so a batch
        waits `flush_interval_s`, not up to a timer tick more). Nothing to flush: a whole interval."""
        if not self._pending or self.stopping or self.fatal is not None:
            return self.config.flush_interval_s
        elapsed = (self.clock() - self._last_flush).total_seconds()
        return max(self.config.flush_interval_s - elapsed, 0.0)

    async def flush_if_due(self) -> None:
        if not self._pending or self.stopping or self.fatal is not None:
            return
        elapsed = (self.clock() - self._last_flush).total_seconds()
        if elapsed >= self.config.flush_interval_s:
            await (await self._cut())

    async def flush(self) -> FlushResult:
        """Flushes what is pending (after the flush in flight) and waits for it."""
        return await (await self._cut())

    @property
    def flushing(self) -> bool:
        return self._in_flight is not None and not self._in_flight.done()

    @property
    def lines_stored(self) -> int:
        return self.flusher.lines_stored

    async def _cut(self) -> asyncio.Task[FlushResult]:
        """Starts flushing the pending records once the flush before has finished."""
        async with self._cutting:
            if self._in_flight is not None:
                await asyncio.wait({self._in_flight})  # it never raises: failures are retried or fatal
            if self.stopping or self.fatal is not None:
                return asyncio.create_task(_abandoned())
            batch, self._pending, self._pending_outcomes = self._pending, [], 0
            self._pending_positions = set()
            self._last_flush = self.clock()
            self._in_flight = asyncio.create_task(self._flush_batch(batch), name="ingest-flush")
            return self._in_flight

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop taking records; flush what is pending if that completes within `grace_s`, else cancel the
        flush. Either way, every record not acked by then is abandoned (consumed again later)."""
        self.stopping = True
        if self._pending and self.fatal is None and not self._cutting.locked():
            batch, self._pending, self._pending_outcomes, self._pending_positions = self._pending, [], 0, set()
            before = self._in_flight

            async def after_before() -> FlushResult:
                if before is not None:
                    await asyncio.wait({before})
                    if before.cancelled() or not before.result().complete:
                        return FlushResult(complete=False)  # acking later records would leave a gap
                return await self._flush_batch(batch, final=True)

            self._in_flight = asyncio.create_task(after_before(), name="ingest-final-flush")
        t = self._in_flight
        if t is not None and not t.done():
            await asyncio.wait({t}, timeout=grace_s)
            if not t.done():
                log.warning("stopping: the flush did not finish in %.0f s; its records are not acked and are "
                            "consumed again by the partition's next owner", grace_s)  # fmt: skip
                if self.on_stop is not None:
                    self.on_stop()  # the store's retry loops end
                t.cancel()
                await asyncio.wait({t}, timeout=2.0)
        self._pending, self._pending_outcomes, self._pending_positions = [], 0, set()

    async def _flush_batch(self, batch: list[ConsumedRecord], final: bool = False) -> FlushResult:
        """Flush `batch` until it succeeds: a failure is retried with backoff on the same records (none
        of them acked); a permanent one is fatal. On stop, a retry is not started again."""
        delay = self.backoff[0]
        while True:
            try:
                async with self.lock:
                    started = self.clock()
                    result = await self.flusher.run(batch, started)
                    if batch:
                        self.metrics.flushed(result, (self.clock() - started).total_seconds(), batch)
                    return result
            except asyncio.CancelledError:
                raise
            except (Permanent, ConfigError) as e:
                self._fail(e)
                return FlushResult(complete=False)
            except Exception as e:
                self.failed_flushes += 1
                if self.stopping and not final:
                    return FlushResult(complete=False)
                if isinstance(e, OmnimeterError):
                    log.warning("flush failed (%s); flushing the same records again in %.1f s", e, delay)
                else:
                    log.warning("flush failed; flushing the same records again in %.1f s", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff[1])
                self.flusher.reset()

    def _fail(self, error: BaseException) -> None:
        """A permanent error: nothing more is taken or flushed, and the worker is told to stop."""
        if self.fatal is None:
            self.fatal = error
            log.error("%s", error)
            if self.on_fatal is not None:
                self.on_fatal(error)


async def _abandoned() -> FlushResult:
    return FlushResult(complete=False)
