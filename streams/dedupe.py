"""Steps 1 and 2 of a flush: skip what a replay already stored, then classify every outcome as stored,
duplicate or rejected.

Replays: after a crash, a seek back or a partition handed over, a record can be delivered whose
outcome is already in ClickHouse. `ReplayTracker` knows, per partition, the next offset this process
expects (a record there is new: nothing to look up); a batch starting anywhere else looks up the
positions already stored from its *lowest* offset on (a seek back can deliver records again after newer
ones in the same batch). Positions already rated are looked up too: lines go in before raw_events, so a
crash between the two leaves lines whose events were never stored, and those events must not be rated
again. The tracker is per-partition state: the rebalance hook clears it when partitions move.

Dedupe memory is ClickHouse itself (raw_events is ordered by tenant, source, id), within the window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from omnimeter.schemas.events import UsageEvent
from omnimeter.schemas.parse import Accepted, Rejection
from omnimeter.sinks.base import DedupeKey, Position, StoredOutcomes
from omnimeter.sinks.tables import BILLABLE_LINES, RAW_EVENTS
from omnimeter.streams.deadletter import dead_letter, unknown_tenant
from omnimeter.streams.records import ConsumedRecord, Partition
from omnimeter.streams.rows import duplicate_row, raw_row, rejected_row
from omnimeter.streams.timing import StageTimes

log = logging.getLogger(__name__)

ToRate = tuple[ConsumedRecord, int, UsageEvent]  # (record, index in the record, event)


@dataclass(slots=True)
class ReplayView:
    """What one batch's partitions already have stored and rated (captured when the batch's flush starts:
    a rebalance during the flush does not change it)."""

    stored: dict[Partition, set[Position]] = field(default_factory=dict)
    rated: dict[Partition, set[Position]] = field(default_factory=dict)
    epoch: int = 0


class ReplayTracker:
    """Per partition: the next offset expected, and the positions a replay found stored beyond the last
    flushed batch (the next batch continues there without another look-up)."""

    def __init__(self, outcomes: StoredOutcomes, rated_too: bool, times: StageTimes | None = None) -> None:
        self.outcomes = outcomes
        self.times = times or StageTimes()
        self.rated_too = rated_too
        self._next_offset: dict[Partition, int] = {}
        self._left = ReplayView()
        self.epoch = 0  # bumped by every rebalance: a flush cut before one leaves nothing behind

    async def load(self, batch: Sequence[ConsumedRecord]) -> ReplayView:
        """What is already stored for `batch`: looked up for each partition that does not continue where
        this process left off, else what the look-up of an earlier batch found beyond it."""
        view = ReplayView(dict(self._left.stored), dict(self._left.rated), self.epoch)
        firsts: dict[Partition, int] = {}
        for rec in batch:
            firsts[rec.tp] = min(rec.offset, firsts.get(rec.tp, rec.offset))
        look_up = self.times.timed("replay", self.outcomes.recorded_positions)
        for tp, first in firsts.items():
            if self._next_offset.get(tp) == first:
                continue  # contiguous with what this process stored: nothing can be stored already
            found = await asyncio.to_thread(look_up, tp[0], tp[1], first)
            view.stored[tp] = found
            if self.rated_too:
                view.rated[tp] = await asyncio.to_thread(look_up, tp[0], tp[1], first, (BILLABLE_LINES.name,))
            if found:
                log.info("partition %s:%d replayed from offset %d: %d outcomes already stored", *tp, first, len(found))
        return view

    def advance(self, batch: Sequence[ConsumedRecord], view: ReplayView) -> None:
        """`batch` is stored and acked: its partitions continue after it. Positions found beyond it are
        kept for the next batch, unless the partitions moved meanwhile."""
        if view.epoch != self.epoch:
            return  # a rebalance happened during the flush: the next batch of each partition looks up again
        last: dict[Partition, int] = {}
        for rec in batch:
            last[rec.tp] = max(rec.offset, last.get(rec.tp, rec.offset))
        for tp, offset in last.items():
            self._next_offset[tp] = max(self._next_offset.get(tp, 0), offset + 1)
            for mine, seen in ((self._left.stored, view.stored), (self._left.rated, view.rated)):
                remaining = {p for p in seen.get(tp, ()) if p[0] > offset}
                if remaining:
                    mine[tp] = remaining
                else:
                    mine.pop(tp, None)

    def partitions_changed(self) -> None:
        """Rebalance hook: a partition that left and came back may have been stored by another worker."""
        self.epoch += 1
        self._next_offset.clear()
        self._left = ReplayView()


@dataclass(slots=True)
class Classified:
    """A batch's outcomes sorted into the rows of each table (steps 1-2), and what is left to rate."""

    raw: list[Sequence[Any]] = field(default_factory=list)
    duplicates: list[Sequence[Any]] = field(default_factory=list)
    rejected: list[Sequence[Any]] = field(default_factory=list)
    letters: list[Any] = field(default_factory=list)
    to_rate: list[ToRate] = field(default_factory=list)
    skipped_replayed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    event_times: list[float] = field(default_factory=list)  # epoch seconds of the events stored
    newest_event: dict[Partition, float] = field(default_factory=dict)

    def reject_stored(self, rejections: Sequence[tuple[ConsumedRecord, Rejection]], now: datetime) -> None:
        """Turn events classified as stored into rejections (their rating or their rows failed): their
        raw row is withdrawn, a rejected row and a dead letter take its place."""
        if not rejections:
            return
        gone = {(rec.topic, rec.partition, rec.offset, rej.index) for rec, rej in rejections}
        kept = [i for i, row in enumerate(self.raw) if tuple(row[c] for c in _POSITION) not in gone]
        self.raw = [self.raw[i] for i in kept]
        self.event_times = [self.event_times[i] for i in kept]
        for rec, rej in rejections:
            self.rejected.append(rejected_row(rej, rec, now))
            self.letters.append(dead_letter(rec, rej))
            self.reasons[rej.reason.value] += 1


_POSITION = tuple(RAW_EVENTS.index(c) for c in ("kafka_topic", "kafka_partition", "kafka_offset", "batch_index"))


async def classify(
    batch: Sequence[ConsumedRecord],
    replay: ReplayView,
    outcomes: StoredOutcomes,
    knows_tenant: Callable[[str], bool] | None,
    now: datetime,
    window: timedelta,
    times: StageTimes | None = None,
) -> Classified:
    """Every outcome of `batch` once: skipped (a replay stored it), stored, duplicate (in this batch or in
    raw_events within `window`) or rejected (bad input, or a tenant the directory does not know)."""
    out = Classified()
    stored_before = [replay.stored.get(rec.tp) for rec in batch]
    accepted = [
        o for rec, seen in zip(batch, stored_before, strict=True) for o in rec.outcomes
        if isinstance(o, Accepted) and not (seen and (rec.offset, o.index) in seen)
    ]  # fmt: skip
    keys = {(o.event.subject, o.event.source, o.event.id) for o in accepted}
    look_up = outcomes.stored_keys if times is None else times.timed("dedupe", outcomes.stored_keys)
    known: set[DedupeKey] = await asyncio.to_thread(look_up, keys, now - window)
    wall, cpu = time.perf_counter(), time.thread_time()
    for rec, seen in zip(batch, stored_before, strict=True):
        rated_before = replay.rated.get(rec.tp)
        for o in rec.outcomes:
            if seen and (rec.offset, o.index) in seen:
                out.skipped_replayed += 1
                continue
            if isinstance(o, Accepted) and knows_tenant is not None and not knows_tenant(o.event.subject):
                o = unknown_tenant(o, rec)
            if isinstance(o, Accepted):
                key = (o.event.subject, o.event.source, o.event.id)
                if key in known:
                    out.duplicates.append(duplicate_row(o.event, rec, o.index, now))
                    continue
                known.add(key)
                out.raw.append(raw_row(o.event, rec, o.index, now))
                ts = o.event.time.timestamp()
                out.event_times.append(ts)
                out.newest_event[rec.tp] = max(ts, out.newest_event.get(rec.tp, ts))
                if not (rated_before and (rec.offset, o.index) in rated_before):
                    out.to_rate.append((rec, o.index, o.event))
            else:
                out.rejected.append(rejected_row(o, rec, now))
                out.letters.append(dead_letter(rec, o))
                out.reasons[o.reason.value] += 1
    if times is not None:
        times.add("classify", time.perf_counter() - wall, time.thread_time() - cpu)
    return out
