"""The ingest stage: parse and validate records, drop duplicates, dead-letter the bad, store the rest.

Records are parsed as they arrive and held until a flush, which happens when `batch_max_events` outcomes
are pending or `flush_interval_s` has passed. A flush accounts for every pending record exactly once:
stored in raw_events, dropped as a duplicate (duplicate_events) or dead-lettered (rejected_events and
the dead-letter topic). Only then are the records acked, so their offsets are committed after the
insert; a crash before that replays them, and the replay skips what is already stored.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas.events import UsageEvent
from schemas.parse import Accepted, ParseLimits, Rejection, RejectReason, element_bytes, parse_record
from sinks.base import TableRows
from sinks.clickhouse import ClickHouseStore, DedupeKey, Position
from streams.dlq import DeadLetter, DeadLetterPublisher, dead_letter
from streams.metrics import WorkerMetrics
from streams.rate import AMOUNT_PLATFORM, AMOUNT_RESELLER, LINE_COLUMNS, METER, RateStage
from streams.records import ConsumedRecord
from streams.rows import (
    DUPLICATE_COLUMNS,
    RAW_COLUMNS,
    REJECTED_COLUMNS,
    duplicate_row,
    raw_row,
    rejected_row,
)

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class IngestConfig:
    batch_max_events: int = 20_000
    flush_interval_s: float = 1.0
    dedupe_window: timedelta = timedelta(days=35)
    limits: ParseLimits = field(default_factory=ParseLimits)
    insert_retry_max_s: float = 0.0  # 0: retry until the insert works


@dataclass(slots=True)
class FlushResult:
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    skipped_replayed: int = 0
    lines: int = 0
    meters: dict[str, list] = field(default_factory=dict)  # type: ignore[type-arg]  # meter -> [lines, platform, reseller]
    newest_event: dict[tuple[str, int], float] = field(default_factory=dict)  # epoch seconds per partition
    event_times: list[float] = field(default_factory=list)  # epoch seconds of the events stored


class IngestStage:
    """Holds pending records and flushes them in order. One instance per worker process. The Faust agent
    (`add`) and the flush timer (`flush_if_due`) both cut batches; one flush runs at a time, in the
    background, while the next batch fills."""

    def __init__(
        self,
        store: ClickHouseStore,
        dlq: DeadLetterPublisher,
        config: IngestConfig,
        metrics: WorkerMetrics,
        clock: Callable[[], datetime] = utc_now,
        rating: RateStage | None = None,
        on_accepted: Callable[[UsageEvent], None] | None = None,
        before_ack: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.before_ack = before_ack
        self.rating = rating
        self.on_accepted = on_accepted
        self.store = store
        self.dlq = dlq
        self.config = config
        self.metrics = metrics
        self.clock = clock
        self._pending: list[ConsumedRecord] = []
        self._pending_outcomes = 0
        self._pending_positions: set[tuple[str, int, int]] = set()
        self._last_flush = clock()
        self.lock = asyncio.Lock()  # held by the flush that runs (the mirror sync also takes it)
        self._cutting = asyncio.Lock()
        self._in_flight: asyncio.Task[FlushResult] | None = None
        # next offset expected per (topic, partition); a record elsewhere means a replay or a new owner
        self._next_offset: dict[tuple[str, int], int] = {}
        self._replayed: dict[tuple[str, int], set[Position]] = {}
        self._rated: dict[tuple[str, int], set[Position]] = {}
        self.lines_stored = 0  # billable lines stored by this process (the rollup refresh watches it)
        self.not_yet_reported: list[float] = []  # event times stored since the last rollup refresh

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
        record.outcomes = parse_record(record.value, self.clock(), self.config.limits)
        if self.on_accepted is not None:
            for o in record.outcomes:
                if isinstance(o, Accepted):
                    self.on_accepted(o.event)
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

    async def _cut(self) -> asyncio.Task[FlushResult]:
        """Starts flushing the pending records once the flush before has finished: one flush at a time,
        in delivery order, so acks (and offset commits) stay in order and each flush sees what the one
        before stored."""
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
        if t is not None and t.done() and not t.cancelled() and t.exception() is not None:
            raise t.exception()  # type: ignore[misc]

    async def _flush_batch(self, batch: list[ConsumedRecord]) -> FlushResult:
        async with self.lock:
            return await self._flush_locked(batch)

    async def _flush_locked(self, batch: list[ConsumedRecord]) -> FlushResult:
        if not batch:
            return FlushResult()
        started = self.clock()
        result = FlushResult(records=len(batch))
        now = self.clock()

        # 1. Skip what is already stored: after a restart or a replay, records at or after the first
        #    replayed offset of a partition may have had their outcome stored before the crash.
        await self._load_replayed(batch)

        # 2. Classify every outcome: stored, duplicate (in this flush or already in raw_events), rejected.
        raw, dups, rejected, letters = [], [], [], []
        to_rate: list[tuple[ConsumedRecord, int, UsageEvent]] = []
        knows_tenant = self.rating.tenant_check() if self.rating is not None else None
        # Per record: the outcomes a replay finds already stored (None, nearly always: not a replay).
        stored_before = [self._replayed.get((rec.topic, rec.partition)) for rec in batch]
        accepted = [
            (rec, o) for rec, seen in zip(batch, stored_before, strict=True) for o in rec.outcomes
            if isinstance(o, Accepted) and not (seen and (rec.offset, o.index) in seen)
        ]  # fmt: skip
        keys = {(o.event.subject, o.event.source, o.event.id) for _, o in accepted}
        since = now - self.config.dedupe_window
        known: set[DedupeKey] = await asyncio.to_thread(self.store.stored_keys, keys, since)
        for rec, seen in zip(batch, stored_before, strict=True):
            # Not only on a replay of stored outcomes: lines go in before raw_events, so a crash between the
            # two leaves lines whose events were never stored.
            rated_before = self._rated.get((rec.topic, rec.partition))
            for o in rec.outcomes:
                if seen and (rec.offset, o.index) in seen:
                    result.skipped_replayed += 1
                    continue
                if isinstance(o, Accepted) and knows_tenant is not None and not knows_tenant(o.event.subject):
                    o = unknown_tenant(o, rec)
                if isinstance(o, Accepted):
                    key = (o.event.subject, o.event.source, o.event.id)
                    if key in known:
                        dups.append(duplicate_row(o.event, rec, o.index, now))
                        result.duplicates += 1
                    else:
                        known.add(key)
                        raw.append(raw_row(o.event, rec, o.index, now))
                        result.stored += 1
                        ts = o.event.time.timestamp()
                        result.event_times.append(ts)
                        tp = (rec.topic, rec.partition)
                        result.newest_event[tp] = max(ts, result.newest_event.get(tp, ts))
                        if not (rated_before and (rec.offset, o.index) in rated_before):
                            to_rate.append((rec, o.index, o.event))
                else:
                    rejected.append(rejected_row(o, rec, now))
                    letters.append(dead_letter(rec, o))
                    result.rejected[o.reason.value] += 1

        # 3. Rate the stored events (lines of events rated before a crash are already stored).
        lines = []
        if self.rating is not None and to_rate:
            # An empty context: no "current event", so table reads find every key, not just those of the
            # partition of the record that happened to trigger this flush (Faust's rocksdb store does that).
            rate = functools.partial(contextvars.Context().run, self.rating.rate, to_rate, now)
            lines = await asyncio.get_running_loop().run_in_executor(None, rate)
        result.lines = len(lines)
        for row in lines:
            m = result.meters.setdefault(row[METER], [0, 0, 0])
            m[0] += 1
            m[1] += row[AMOUNT_PLATFORM]
            m[2] += row[AMOUNT_RESELLER]

        # 4. Publish dead letters and wait for the broker (at-least-once; see streams/dlq.py).
        await self._publish(letters)

        # 5. Insert, each block with a token derived from its source positions: a retry stores nothing twice.
        #    Lines go before raw_events: a replay finds an event's lines stored and does not rate it again.
        token = _positions_token(batch)
        blocks = [
            TableRows("rejected_events", REJECTED_COLUMNS, rejected, f"rejected:{token}"),
            TableRows("duplicate_events", DUPLICATE_COLUMNS, dups, f"duplicate:{token}"),
            TableRows("billable_lines", LINE_COLUMNS, lines, f"lines:{token}"),
            TableRows("raw_events", RAW_COLUMNS, raw, f"raw:{token}"),
        ]
        await asyncio.to_thread(self.store.write, blocks, retry_for_s=self.config.insert_retry_max_s)
        self.lines_stored += len(lines)
        if lines and len(self.not_yet_reported) < 1_000_000:
            self.not_yet_reported += result.event_times

        # 6. Make the state changes of these records durable (the window table's changelog) before their
        #    offsets can be committed: a committed record is never consumed again to rebuild them.
        if self.before_ack is not None:
            await self.before_ack()

        # 7. Ack: the offsets may now be committed. Remember where each partition continues.
        for rec in batch:
            tp = (rec.topic, rec.partition)
            self._next_offset[tp] = max(self._next_offset.get(tp, 0), rec.offset + 1)
            if rec.ack is not None:
                await rec.ack()
        self._forget_replayed(batch)

        self.metrics.flushed(result, (self.clock() - started).total_seconds(), batch)
        return result

    async def _publish(self, letters: Sequence[DeadLetter]) -> None:
        if letters:
            await self.dlq.publish(letters)

    async def _load_replayed(self, batch: Sequence[ConsumedRecord]) -> None:
        # The lowest offset per partition, not the first: a seek back can deliver records again after
        # newer ones in the same batch (the newer ones alone would look contiguous).
        firsts: dict[tuple[str, int], int] = {}
        for rec in batch:
            tp = (rec.topic, rec.partition)
            firsts[tp] = min(rec.offset, firsts.get(tp, rec.offset))
        for tp, first in firsts.items():
            if self._next_offset.get(tp) == first:
                continue  # contiguous with what this process stored: nothing can be stored already
            found = await asyncio.to_thread(self.store.recorded_positions, tp[0], tp[1], first)
            self._replayed[tp] = found
            if self.rating is not None:
                self._rated[tp] = await asyncio.to_thread(
                    self.store.recorded_positions, tp[0], tp[1], first, ("billable_lines",)
                )
            if found:
                log.info(
                    "partition %s:%d replayed from offset %d: %d outcomes already stored",
                    tp[0],
                    tp[1],
                    first,
                    len(found),
                )

    def _forget_replayed(self, batch: Sequence[ConsumedRecord]) -> None:
        last: dict[tuple[str, int], int] = {}
        for rec in batch:
            tp = (rec.topic, rec.partition)
            last[tp] = max(rec.offset, last.get(tp, rec.offset))
        for tp, offset in last.items():
            for sets in (self._replayed, self._rated):
                seen = sets.pop(tp, None)
                if seen:
                    remaining = {p for p in seen if p[0] > offset}
                    if remaining:
                        sets[tp] = remaining


def _positions_token(batch: Sequence[ConsumedRecord]) -> str:
    ranges: dict[tuple[str, int], list[int]] = {}
    for rec in batch:
        r = ranges.setdefault((rec.topic, rec.partition), [rec.offset, rec.offset])
        r[0], r[1] = min(r[0], rec.offset), max(r[1], rec.offset)
    text = ";".join(f"{t}:{p}:{a}-{b}" for (t, p), (a, b) in sorted(ranges.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def unknown_tenant(o: Accepted, rec: ConsumedRecord) -> Rejection:
    """An event of a tenant the directory does not know: dead-lettered, not stored or billed."""
    raw = rec.value or b""
    if raw.lstrip()[:1] == b"[":
        raw = element_bytes(o.event.model_dump(mode="json", exclude_unset=True))
    return Rejection(
        RejectReason.UNKNOWN_TENANT,
        "subject",
        f"tenant {o.event.subject!r} is not in the directory",
        o.event.id,
        o.index,
        raw,
    )
