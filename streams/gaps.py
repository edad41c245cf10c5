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
from collections.abc import Awaitable, Callable

from confluent_kafka import Consumer, TopicPartition

from streams.metrics import WorkerMetrics

log = logging.getLogger(__name__)

Seek = Callable[[object, int], Awaitable[None]]


def committed_or_earliest(bootstrap: str, group: str, topic: str, partition: int) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        (tp,) = c.committed([TopicPartition(topic, partition)], timeout=10)
        if tp.offset >= 0:
            return int(tp.offset)
        low, _ = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        return int(low)
    finally:
        c.close()


class GapGuard:
    def __init__(
        self, bootstrap: str, group: str, seek: Seek, metrics: WorkerMetrics | None = None,
        min_seek_interval_s: float = 1.0,
    ) -> None:  # fmt: skip
        self.metrics = metrics
        self.bootstrap, self.group = bootstrap, group
        self.seek = seek
        self.min_seek_interval_s = min_seek_interval_s
        self.expected: dict[tuple[str, int], int] = {}
        self.before: dict[tuple[str, int], int] = {}  # next offsets delivered before the last rebalance
        self.generation: int | None = None
        self._last_seek: dict[tuple[str, int], tuple[int, float]] = {}
        self.gaps = 0

    async def admit(self, tp: object, topic: str, partition: int, offset: int, generation: int) -> bool:
        """True when the record is the next one of its partition (or a re-delivery of an earlier one)."""
        if generation != self.generation:  # a rebalance: start again from the committed offsets
            self.generation = generation
            self.before = {**self.before, **self.expected}
            self.expected.clear()
            if self.metrics is not None:
                self.metrics.rebalances.inc()
        key = (topic, partition)
        exp = self.expected.get(key)
        if exp is None:
            exp = await asyncio.to_thread(committed_or_earliest, self.bootstrap, self.group, topic, partition)
            exp = max(exp, self.before.pop(key, exp))
            self.expected[key] = exp
        if offset <= exp:
            self.expected[key] = offset + 1
            return True
        now = time.monotonic()
        last = self._last_seek.get(key)
        if last is None or last[0] != exp or now - last[1] >= self.min_seek_interval_s:
            self.gaps += 1
            if self.metrics is not None:
                self.metrics.gaps.inc()
            log.warning(
                "partition %s:%d: got offset %d while %d is next; seeking back to %d",
                topic,
                partition,
                offset,
                exp,
                exp,
            )
            await self.seek(tp, exp)
            self._last_seek[key] = (exp, now)
        return False
