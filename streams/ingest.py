"""The ingest stage: records are parsed and validated as they arrive (schemas/parse.py) and held until a
flush, which happens when `batch_max_events` outcomes are pending or `flush_interval_s` has passed. The
flush itself (streams/flush.py) runs in the background while the next batch fills: one at a time, in
delivery order, so acks (and offset commits) stay in order and each flush sees what the one before
stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from omnimeter.schemas.events import UsageEvent
from omnimeter.schemas.parse import Accepted, ParseLimits, parse_record
from omnimeter.streams.flush import Flush, FlushResult
from omnimeter.streams.metrics import WorkerMetrics
from omnimeter.streams.records import ConsumedRecord


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
    ) -> None:
        self.flusher = flush
        self.config = config
        self.metrics = metrics
        self.clock = clock
        self.observer = observer
        self._pending: list[ConsumedRecord] = []
        self._pending_outcomes = 0
        self._pending_positions: set[tuple[str, int, int]] = set()
        self._last_flush = clock()
        self.lock = asyncio.Lock()  # held by the flush that runs (the mirror sync also takes it)
        self._cutting = asyncio.Lock()
        self._in_flight: asyncio.Task[FlushResult] | None = None

    async def add(self, record: ConsumedRecord) -> None:
        """Takes a delivered record. A full batch is handed to a background flush, so the agent goes on
        reading while ClickHouse works; it waits only when the flush before is still running."""
        self._raise_if_flush_failed()
        position = (record.topic, record.partition, record.offset)
        if position in self._pending_positions:
            # Delivered again before its first copy was flushed (Faust re-seeks on a rebalance): the first
            # copy accounts for it; this one is only acked with it.
            self._pending.append(record)
            return
        record.outcomes = parse_record(record.value, self.clock(), self.config.limits, record.key)
        if self.observer is not None:
            for o in record.outcomes:
                if isinstance(o, Accepted):
                    self.observer.observe(o.event)
        self.metrics.consumed(record.topic, record.partition, len(record.value or b""))
        self._pending.append(record)
        self._pending_positions.add(position)
        self._pending_outcomes += len(record.outcomes)
        if self._pending_outcomes >= self.config.batch_max_events:
            await self._cut()

    async def flush_if_due(self) -> None:
        self._raise_if_flush_failed()
        if not self._pending:
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
                await self._in_flight  # re-raises its failure
            batch, self._pending, self._pending_outcomes = self._pending, [], 0
            self._pending_positions = set()
            self._last_flush = self.clock()
            self._in_flight = asyncio.create_task(self._flush_batch(batch), name="ingest-flush")
            return self._in_flight

    def _raise_if_flush_failed(self) -> None:
        t = self._in_flight
        if t is not None and t.done() and not t.cancelled():
            error = t.exception()
            if error is not None:
                raise error

    async def _flush_batch(self, batch: list[ConsumedRecord]) -> FlushResult:
        async with self.lock:
            started = self.clock()
            result = await self.flusher.run(batch, started)
            if batch:
                self.metrics.flushed(result, (self.clock() - started).total_seconds(), batch)
            return result
