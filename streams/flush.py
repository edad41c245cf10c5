"""The order of a flush: the one place that sequences it. Every pending record is accounted for exactly
once (stored in raw_events, dropped as a duplicate, or dead-lettered), and only then acked, so its offset
is committed after the insert. A crash at any step replays the records from the last committed offset,
and steps 1-2 recognise what was already stored.

    1. replay     look up outcomes already stored for partitions that do not continue where we left off
    2. classify   stored / duplicate (this batch or raw_events within the window) / rejected
    3. rate       billable lines for the stored events not rated before
    4. publish    dead letters, and wait for the broker's acks (at-least-once; rejected_events is exact)
    5. insert     lines, then rejected, duplicate and raw events, each block with a token from its source
                  positions (a retry stores nothing twice); lines go before raw_events, so a replay finds
                  an event's lines and does not rate it again. Retried with backoff until it succeeds
                  (or `insert_retry_max_s`): nothing is acked meanwhile
    6. barrier    state changes of these records (the window changelog) are durable
    7. ack        the offsets may now be committed, in delivery order
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from omnimeter.sinks.base import DeadLetterPublisher, StateBarrier, StoredOutcomes, TableRows, Writer
from omnimeter.sinks.exceptions import SinkGaveUp
from omnimeter.sinks.tables import BILLABLE_LINES, DUPLICATE_EVENTS, RAW_EVENTS, REJECTED_EVENTS
from omnimeter.streams.dedupe import ReplayTracker, classify
from omnimeter.streams.records import ConsumedRecord, Partition

if TYPE_CHECKING:
    from omnimeter.streams.rate import RateStage

log = logging.getLogger(__name__)

METER, AMOUNT_PLATFORM, AMOUNT_RESELLER = (
    BILLABLE_LINES.index("meter"),
    BILLABLE_LINES.index("amount_platform"),
    BILLABLE_LINES.index("amount_reseller"),
)


class StorePorts(Writer, StoredOutcomes, Protocol):
    """What a flush needs of the store."""


@dataclass(slots=True)
class FlushResult:
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    skipped_replayed: int = 0
    lines: int = 0
    # meter -> [lines, platform, reseller, reversed platform, reversed reseller]
    meters: dict[str, list[Any]] = field(default_factory=dict)
    newest_event: dict[Partition, float] = field(default_factory=dict)  # epoch seconds per partition
    event_times: list[float] = field(default_factory=list)  # epoch seconds of the events stored
    unpriced: Counter[tuple[str, str]] = field(default_factory=Counter)  # (meter, party) -> lines no book prices
    corrections: int = 0  # WhatsApp decisions corrected by late messages
    past_horizon: int = 0  # late WhatsApp messages past the window horizon (their decisions stand)


@dataclass(frozen=True, slots=True)
class FlushPolicy:
    dedupe_window: timedelta = timedelta(days=35)
    insert_retry_max_s: float = 0.0  # 0: retry until the insert works
    backoff_first_s: float = 0.1
    backoff_max_s: float = 5.0


class Flush:
    """Runs steps 1..7 for one batch at a time (the caller, `IngestStage`, never runs two at once)."""

    def __init__(
        self,
        store: StorePorts,
        dlq: DeadLetterPublisher,
        policy: FlushPolicy,
        *,
        rating: RateStage | None = None,
        barrier: StateBarrier | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.dlq = dlq
        self.policy = policy
        self.rating = rating
        self.barrier = barrier
        self.sleep = sleep
        self.replay = ReplayTracker(store, rated_too=rating is not None)
        self.lines_stored = 0  # billable lines stored by this process (the rollup refresh watches it)
        self.not_yet_reported: list[float] = []  # event times stored since the last rollup refresh

    async def run(self, batch: Sequence[ConsumedRecord], now: datetime) -> FlushResult:
        result = FlushResult(records=len(batch))
        if not batch:
            return result

        # 1. Replay: what is already stored for partitions that do not continue where this process left off.
        replayed = await self.replay.load(batch)

        # 2. Classify every outcome: skipped, stored, duplicate, rejected.
        knows_tenant = self.rating.tenant_check() if self.rating is not None else None
        c = await classify(batch, replayed, self.store, knows_tenant, now, self.policy.dedupe_window)
        result.stored, result.duplicates, result.skipped_replayed = len(c.raw), len(c.duplicates), c.skipped_replayed
        result.rejected, result.event_times, result.newest_event = c.reasons, c.event_times, c.newest_event

        # 3. Rate the stored events (lines of events rated before a crash are already stored).
        lines: list[Sequence[Any]] = []
        if self.rating is not None and c.to_rate:
            lines = await asyncio.to_thread(self.rating.rate, c.to_rate, now)
            result.unpriced = self.rating.unpriced
            result.corrections, result.past_horizon = self.rating.corrections, self.rating.past_horizon
        result.lines = len(lines)
        for row in lines:
            m = result.meters.setdefault(row[METER], [0, Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
            m[0] += 1
            ap, ar = row[AMOUNT_PLATFORM], row[AMOUNT_RESELLER]
            if ap < 0 or ar < 0:  # a reversal of a WhatsApp decision: counted apart (counters only go up)
                m[3] -= ap
                m[4] -= ar
            else:
                m[1] += ap
                m[2] += ar

        # 4. Publish dead letters and wait for the broker.
        if c.letters:
            await self.dlq.publish(c.letters)

        # 5. Insert, lines before raw_events, each block with a token derived from its source positions.
        token = positions_token(batch)
        await self._insert(
            [
                REJECTED_EVENTS.block(c.rejected, f"rejected:{token}"),
                DUPLICATE_EVENTS.block(c.duplicates, f"duplicate:{token}"),
                BILLABLE_LINES.block(lines, f"lines:{token}"),
                RAW_EVENTS.block(c.raw, f"raw:{token}"),
            ]
        )
        self.lines_stored += len(lines)
        if lines and len(self.not_yet_reported) < 1_000_000:
            self.not_yet_reported += result.event_times

        # 6. Make the state changes of these records durable before their offsets can be committed: a
        #    committed record is never consumed again to rebuild them.
        if self.barrier is not None:
            await self.barrier.durable()

        # 7. Ack, in delivery order; the partitions continue after this batch.
        for rec in batch:
            if rec.ack is not None:
                await rec.ack()
        self.replay.advance(batch, replayed)
        return result

    async def _insert(self, blocks: Sequence[TableRows]) -> None:
        """Step 5 until it succeeds: every attempt sends every block again with the same tokens, so the
        blocks stored by a failed attempt are not stored twice."""
        delay, waited = self.policy.backoff_first_s, 0.0
        while True:
            try:
                await asyncio.to_thread(self.store.insert, blocks)
                return
            except Exception as e:
                limit = self.policy.insert_retry_max_s
                if limit and waited >= limit:
                    raise SinkGaveUp(
                        f"insert failed for {waited:.0f} s, giving up (OMNIMETER_INSERT_RETRY_MAX_S={limit:g}); "
                        f"nothing was acked, the records are consumed again on restart: {e}"
                    ) from e
                log.warning("insert failed (%s); retrying in %.1f s, nothing acked meanwhile", e, delay)
                await self.sleep(delay)
                waited += delay
                delay = min(delay * 2, self.policy.backoff_max_s)


def positions_token(batch: Sequence[ConsumedRecord]) -> str:
    """A digest of the batch's offset range per partition: the same records give the same token."""
    ranges: dict[Partition, list[int]] = {}
    for rec in batch:
        r = ranges.setdefault(rec.tp, [rec.offset, rec.offset])
        r[0], r[1] = min(r[0], rec.offset), max(r[1], rec.offset)
    text = ";".join(f"{t}:{p}:{a}-{b}" for (t, p), (a, b) in sorted(ranges.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
