"""Contiguous delivery per partition, whatever Faust does around rebalances.

The usage topic is neither compacted nor transactional, so its offsets are contiguous: a record whose
offset is past the next one expected means records were lost on the way to the agent. Faust can do
that: its fetcher advances its read position before a delivery that a flow suspension (a rebalance)
then cancels, and such a record is neither delivered nor acked again, which either blocks the commit
for good (lag stays) or, with its gap bookkeeping, lets it move past records never processed. The guard
sees the hole, seeks the partition back to the first missing offset and drops (does not ack) what
arrived too early; Faust delivers it again after the seek.

The first offset expected after an assignment is the group's committed offset (or the partition's
earliest offset when the group has committed nothing), read from Kafka directly, or, for a partition
this worker kept through the rebalance, the next offset after what it was already delivered, when that
is further: its commit lags its deliveries (records are acked only after their flush), and seeking back
to the committed offset on every rebalance made a worker chase records it already held (seen as a
stall with two workers rebalancing repeatedly).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from omnimeter.streams.kafka_clients import Kafka, confluent_config
from omnimeter.streams.metrics import WorkerMetrics

log = logging.getLogger(__name__)

Seek = Callable[[object, int], Awaitable[None]]


def high_watermark(kafka: Kafka, group: str, topic: str, partition: int) -> int:
    c = Consumer(confluent_config(kafka, **{"group.id": group, "enable.auto.commit": False}))
    try:
        _, high = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        return int(high)
    finally:
        c.close()


def committed_or_earliest(kafka: Kafka, group: str, topic: str, partition: int) -> int:
    c = Consumer(confluent_config(kafka, **{"group.id": group, "enable.auto.commit": False}))
    try:
        (tp,) = c.committed([TopicPartition(topic, partition)], timeout=10)
        if tp.offset >= 0:
            return int(tp.offset)
        low, _ = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        return int(low)
    finally:
        c.close()


class GapGuard:
    """Admits records in offset order per partition and seeks back over holes.

    A seek can be undone: Faust's fetcher records the offset of the record it was handing over while the
    seek happened (`_read_offset`), after the seek, and then drops the re-read records below it. So a seek
    stays *pending* until the expected offset arrives, and `watch` (run by a timer) seeks again when it
    has not arrived, whether or not other records of the partition arrive. `watch` also seeks a partition
    that has records waiting but delivers none. A seek repeated needlessly only delivers records again,
    which the ingest stage recognises (`streams.dedupe.ReplayTracker`).
    """

    def __init__(
        self, kafka: Kafka, group: str, seek: Seek, metrics: WorkerMetrics | None = None,
        retry_after_s: float = 2.0, retry_max_s: float = 10.0, stall_after_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        committed: Callable[[str, int], int] | None = None, on_rebalance: Callable[[], None] | None = None,
        watermark: Callable[[str, int], int] | None = None,
    ) -> None:  # fmt: skip
        self.on_rebalance = on_rebalance
        self.metrics = metrics
        self.committed = committed or (lambda topic, part: committed_or_earliest(kafka, group, topic, part))
        self.watermark = watermark or (lambda topic, part: high_watermark(kafka, group, topic, part))
        self.clock = clock
        self.seek = seek
        self.retry_after_s, self.retry_max_s, self.stall_after_s = retry_after_s, retry_max_s, stall_after_s
        self.tps: dict[tuple[str, int], object] = {}  # the consumer's partition objects, for seeking
        self.progress: dict[tuple[str, int], float] = {}  # when each partition last admitted a record
        self.expected: dict[tuple[str, int], int] = {}
        self.before: dict[tuple[str, int], int] = {}  # next offsets delivered before the last rebalance
        self.generation: int | None = None
        self.since = clock()  # start, or the last rebalance: a partition silent since then is watched too
        self.silent_checked = float("-inf")
        self.pending: dict[tuple[str, int], _PendingSeek] = {}
        self.gaps = 0
        self.retries = 0

    async def admit(self, tp: object, topic: str, partition: int, offset: int, generation: int) -> bool:
        """True when the record is the next one of its partition (or a re-delivery of an earlier one)."""
        if generation != self.generation:  # a rebalance: start again from the committed offsets
            self.generation = generation
            self.before = {**self.before, **self.expected}
            self.expected.clear()
            self.pending.clear()  # Faust seeks every assigned partition to its committed offset itself
            self.progress = dict.fromkeys(self.progress, self.clock())
            self.since = self.clock()
            if self.on_rebalance is not None:
                self.on_rebalance()
            if self.metrics is not None:
                self.metrics.rebalances.inc()
        key = (topic, partition)
        self.tps[key] = tp
        exp = self.expected.get(key)
        if exp is None:
            exp = await asyncio.to_thread(self.committed, topic, partition)
            exp = max(exp, self.before.pop(key, exp))
            self.expected[key] = exp
        if offset <= exp:
            waiting = self.pending.get(key)
            if waiting is not None and offset >= waiting.offset:
                del self.pending[key]
            self.expected[key] = offset + 1
            self.progress[key] = self.clock()
            return True
        waiting = self.pending.get(key)
        if waiting is None or waiting.offset != exp:
            self.gaps += 1
            if self.metrics is not None:
                self.metrics.gaps.inc()
            log.warning("partition %s:%d: got offset %d while %d is next; seeking back to %d",
                        topic, partition, offset, exp, exp)  # fmt: skip
            await self.seek(tp, exp)
            self.pending[key] = _PendingSeek(tp, exp, self.clock(), self.retry_after_s)
        return False  # dropped, not acked: delivered again after the seek

    async def watch(
        self, assigned: Collection[object], highwater: Callable[[object], int | None], busy: bool = False
    ) -> int:
        """Run by a timer; seeks a partition again when
        * the record it was sought back to has not arrived after `retry_after_s` (then twice as long each
          time, up to `retry_max_s`), or
        * records are waiting (its high watermark is past the next offset expected) but no record of any
          partition arrived for `stall_after_s` while the worker was neither flushing nor paused
          (`busy`): a stall, whatever its cause (a busy agent delivering other partitions is not one).
          This includes an assigned partition that has delivered nothing since the worker started or the
          group last rebalanced (its next offset is then the group's committed one). `assigned` must hold
          only partitions of the agent's topic (never a table's changelog, which Faust reads itself).
        Returns how many partitions it sought."""
        now, sought = self.clock(), 0
        quiet = now - max(self.since, *self.progress.values())  # since any partition admitted a record
        silent: dict[tuple[str, int], int] = {}
        if not busy and quiet >= self.stall_after_s and now - self.silent_checked >= self.stall_after_s:
            self.silent_checked = now  # asks Kafka at most once per stall period
            silent = await self._adopt_silent(assigned)
        for key, tp in list(self.tps.items()):
            exp = self.expected.get(key)
            if exp is None or tp not in assigned:
                continue  # a rebalance clears what belongs to partitions moved elsewhere
            waiting = self.pending.get(key)
            if waiting is not None:
                if now - waiting.at < waiting.wait:
                    continue
                why = f"offset {exp} not delivered {now - waiting.at:.1f} s after seeking back"
                wait = min(waiting.wait * 2, self.retry_max_s)  # it may be queued behind thousands fetched
            else:
                hw = highwater(tp)
                hw = silent.get(key) if hw is None else hw  # Faust knows none before its first fetch
                if busy or hw is None or hw <= exp or quiet < self.stall_after_s:
                    continue
                why = f"{hw - exp} records waiting but none delivered for {quiet:.0f} s"
                wait = self.retry_after_s
            log.warning("partition %s:%d: %s; seeking to %d", key[0], key[1], why, exp)
            try:
                await self.seek(tp, exp)
            except Exception as e:  # e.g. revoked meanwhile: the next generation starts afresh
                log.warning("partition %s:%d: seek to %d failed: %s", key[0], key[1], exp, e)
                continue
            self.pending[key] = _PendingSeek(tp, exp, self.clock(), wait)
            self.retries += 1
            if self.metrics is not None:
                self.metrics.gap_reseeks.inc()
            sought += 1
        return sought

    async def _adopt_silent(self, assigned: Collection[object]) -> dict[tuple[str, int], int]:
        """Starts watching assigned partitions that delivered nothing in this generation and have records
        waiting past the group's committed offset (Faust can leave one without a fetch after a rebalance):
        their next offset is the committed one, so the stall check below seeks them. Returns their high
        watermarks."""
        adopted: dict[tuple[str, int], int] = {}
        for tp in assigned:
            topic, partition = tp[0], tp[1]  # type: ignore[index]  # Faust's TP is a named tuple
            key = (topic, partition)
            if key in self.expected:
                continue
            committed = await asyncio.to_thread(self.committed, topic, partition)
            high = await asyncio.to_thread(self.watermark, topic, partition)
            if high > committed:
                self.tps[key] = tp
                self.expected[key] = max(committed, self.before.pop(key, committed))
                adopted[key] = high
        return adopted


@dataclass(frozen=True, slots=True)
class _PendingSeek:
    tp: object
    offset: int
    at: float
    wait: float  # seconds before seeking again
