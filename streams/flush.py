"""The order of a flush: the one place that sequences it. Every pending record is accounted for exactly
once (stored in raw_events, dropped as a duplicate, or dead-lettered), and only then acked, so its offset
is committed after the insert. A crash at any step replays the records from the last committed offset,
and steps 1-2 recognise what was already stored.

    1. replay     look up outcomes already stored for partitions that do not continue where we left off
    2. classify   stored / duplicate (this batch or raw_events within the window) / rejected
    3. rate       billable lines for the stored events not rated before; an event whose rating raises is
                  dead-lettered `rating_failed` instead of stored (the others go on)
    4. check      every row against its column types; an event with a row that does not fit is
                  quarantined `store_refused` (streams/quarantine.py)
    5. publish    dead letters, and wait for the broker's acks (at-least-once; rejected_events is exact)
    6. insert     rejected, duplicate events, lines, then raw events, one part per partition, each part with
                  a token from its source positions (a retry stores nothing twice); lines go before
                  raw_events, so a replay finds an event's lines and does not rate it again. The store
                  unreachable: retried with backoff until it is back, nothing acked meanwhile. A part
                  refused for its data: split until the refused event is quarantined
    7. barrier    state changes of these records (the window changelog) are durable
    8. ack        the offsets may now be committed, in delivery order

A failure of any other step (the broker, a look-up) raises; the ingest stage flushes the same batch again
after `reset` (streams/ingest.py). A `Permanent` error raises too: the worker stops.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from omnimeter.errors import ConfigError, Permanent
from omnimeter.schemas.parse import Rejection, RejectReason
from omnimeter.sinks.base import DeadLetterPublisher, StateBarrier, StoredOutcomes, TableRows, Writer
from omnimeter.sinks.exceptions import SinkRefused
from omnimeter.sinks.tables import BILLABLE_LINES, BY_NAME, DUPLICATE_EVENTS, RAW_EVENTS, REJECTED_EVENTS
from omnimeter.streams import quarantine
from omnimeter.streams.deadletter import dead_letter, event_rejection
from omnimeter.streams.dedupe import Classified, ReplayTracker, classify
from omnimeter.streams.quarantine import Where
from omnimeter.streams.records import ConsumedRecord, Partition
from omnimeter.streams.timing import StageTimes

if TYPE_CHECKING:
    from omnimeter.streams.rate import RateStage, RatingFailure

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
    complete: bool = True  # False: the flush was abandoned (stop, permanent error); nothing was acked
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
    provider_prices_ignored: int = 0  # provider-reported prices on events their supplier does not bill


@dataclass(frozen=True, slots=True)
class FlushPolicy:
    dedupe_window: timedelta = timedelta(days=35)
    insert_retry_max_s: float = 0.0  # past this long failing, an error is logged (retrying goes on); 0: never
    refused_tries: int = 3  # a part refused for its data this many times is split, then quarantined
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
        times: StageTimes | None = None,
    ) -> None:
        self.times = times or StageTimes()  # where the time goes (streams/timing.py; the worker's metrics)
        self.store = store
        self.dlq = dlq
        self.policy = policy
        self.rating = rating
        self.barrier = barrier
        self.sleep = sleep
        self.replay = ReplayTracker(store, rated_too=rating is not None, times=self.times)
        self.lines_stored = 0  # billable lines stored by this process (the rollup refresh watches it)
        self.not_yet_reported: list[float] = []  # event times stored since the last rollup refresh
        self.touched: set[str] = set()  # tenants with lines stored since the last rollup refresh

    async def run(self, batch: Sequence[ConsumedRecord], now: datetime) -> FlushResult:
        result = FlushResult(records=len(batch))
        if not batch:
            return result

        # 1. Replay: what is already stored for partitions that do not continue where this process left off.
        times = self.times
        replayed = await self.replay.load(batch)

        # 2. Classify every outcome: skipped, stored, duplicate, rejected.
        knows_tenant = self.rating.tenant_check() if self.rating is not None else None
        c = await classify(batch, replayed, self.store, knows_tenant, now, self.policy.dedupe_window, times)
        result.stored, result.duplicates, result.skipped_replayed = len(c.raw), len(c.duplicates), c.skipped_replayed
        result.rejected, result.event_times, result.newest_event = c.reasons, c.event_times, c.newest_event

        # 3. Rate the stored events (lines of events rated before a crash are already stored).
        lines: list[Sequence[Any]] = []
        if self.rating is not None and c.to_rate:
            lines = await asyncio.to_thread(times.timed("rate", self.rating.rate), c.to_rate, now)
            result.unpriced = self.rating.unpriced
            result.corrections, result.past_horizon = self.rating.corrections, self.rating.past_horizon
            result.provider_prices_ignored = self.rating.provider_prices_ignored
            if self.rating.failures:
                failed = [(f.record, rating_failed(f)) for f in self.rating.failures]
                for f in self.rating.failures:
                    log.warning("event %s dead-lettered: %s", f.event.id, f.detail)
                c.reject_stored(failed, now)
        # 4. Check every row against its column types: an event with a row that does not fit is
        #    quarantined (store_refused) instead of failing the insert (streams/quarantine.py).
        types = await asyncio.to_thread(self._column_types)
        with times.stage("check"):
            bad, c.rejected = quarantine.check_rows(types, c.raw, lines, c.duplicates, c.rejected)
        if bad:
            lines = self._quarantine(batch, c, lines, bad, now)
        result.stored, result.rejected = len(c.raw), c.reasons
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

        # 5. Publish dead letters and wait for the broker.
        if c.letters:
            with times.stage("publish", cpu=False):
                await self.dlq.publish(c.letters)

        # 6. Insert, lines before raw_events, each block with a token derived from its source positions,
        #    one part per partition. Events whose part the engine still refuses are quarantined.
        token = positions_token(batch)
        refusals = await self._insert(
            [
                REJECTED_EVENTS.block(c.rejected, f"rejected:{token}"),
                DUPLICATE_EVENTS.block(c.duplicates, f"duplicate:{token}"),
                BILLABLE_LINES.block(lines, f"lines:{token}"),
                RAW_EVENTS.block(c.raw, f"raw:{token}"),
            ]
        )
        if refusals:
            late = quarantine.refused(batch, refusals)
            await self.dlq.publish([dead_letter(rec, rej) for rec, rej in late])
            rows = quarantine.rejected_rows(late, now)
            if await self._insert([REJECTED_EVENTS.block(rows, f"refused:{token}")]):
                log.error("quarantine rows of %s refused too: their dead letters are their only account", refusals)
            gone = set(refusals)
            lines = quarantine.withdraw(lines, BILLABLE_LINES, gone)
            result.rejected[RejectReason.STORE_REFUSED.value] += len(late)
            result.stored -= sum(1 for r in c.raw if quarantine.where(RAW_EVENTS, r) in gone)
        self.lines_stored += len(lines)
        if lines:
            self.touched.update({row[0] for row in lines})  # the tenants whose alerts are due (streams/alerts.py)
        if lines and len(self.not_yet_reported) < 1_000_000:
            self.not_yet_reported += result.event_times

        # 7. Make the state changes of these records durable before their offsets can be committed: a
        #    committed record is never consumed again to rebuild them.
        if self.barrier is not None:
            with times.stage("changelog", cpu=False):
                await self.barrier.durable()

        # 8. Ack, in delivery order; the partitions continue after this batch.
        with times.stage("ack"):
            for rec in batch:
                if rec.ack is not None:
                    await rec.ack()
        self.replay.advance(batch, replayed)
        return result

    def reset(self) -> None:
        """Before a batch is flushed again after a failure: what this process believes stored (where
        partitions continue, cycle usage) is read from the store again."""
        self.replay.partitions_changed()
        if self.rating is not None:
            self.rating.state.partitions_changed()

    def _column_types(self) -> dict[str, dict[str, str]]:
        return {
            t.name: dict(self.store.column_types(t.name))
            for t in (RAW_EVENTS, BILLABLE_LINES, DUPLICATE_EVENTS, REJECTED_EVENTS)
        }

    def _quarantine(
        self, batch: Sequence[ConsumedRecord], c: Classified, lines: list[Sequence[Any]], bad: dict[Where, str],
        now: datetime,
    ) -> list[Sequence[Any]]:  # fmt: skip
        gone = set(bad)
        rejections = quarantine.refused(batch, bad)
        for _, rej in rejections:
            log.warning("event %s quarantined (store_refused): %s", rej.event_id or "(no id)", rej.detail)
        c.duplicates = quarantine.withdraw(c.duplicates, DUPLICATE_EVENTS, gone)
        c.reject_stored(rejections, now)
        return quarantine.withdraw(lines, BILLABLE_LINES, gone)

    async def _insert(self, blocks: Sequence[TableRows]) -> dict[Where, str]:
        """Step 6 until every part is stored or quarantined. Parts are inserted in order, each with its
        own token, so a part stored by a failed attempt is not stored twice. The store unreachable:
        retried with backoff for as long as it takes (nothing is acked meanwhile; past
        `insert_retry_max_s` an error is logged). A part refused for its data `refused_tries` times is
        split in halves by event until the refused event stands alone; it is then quarantined.
        Returns the quarantined positions -> why. A permanent error raises."""
        parts = [part for b in blocks for part in BY_NAME[b.table].parts(b) if part.rows]
        refusals: dict[Where, str] = {}
        delay, waited, tries, reported = self.policy.backoff_first_s, 0.0, 0, False
        i = 0
        while i < len(parts):
            part = parts[i]
            try:
                await asyncio.to_thread(self.times.timed("insert", self.store.insert), [part])
            except SinkRefused as e:
                tries += 1
                if tries < self.policy.refused_tries:
                    log.warning("insert into %s refused (%s); trying again", part.table, e)
                    await self.sleep(self.policy.backoff_first_s)
                    continue
                tries = 0
                table = BY_NAME[part.table]
                events = quarantine.groups(table, part.rows)
                if len(events) > 1:
                    half = len(events) // 2
                    a, b = [r for g in events[:half] for r in g], [r for g in events[half:] for r in g]
                    parts[i : i + 1] = [replace(part, rows=a, token=f"{part.token}:a"),
                                        replace(part, rows=b, token=f"{part.token}:b")]  # fmt: skip
                    continue
                gone = quarantine.where(table, events[0][0])
                refusals[gone] = str(e)[:1000]
                log.warning("event at %s quarantined (store_refused): %s", gone, e)
                del parts[i]
                parts[i:] = [q for q in (quarantine.without(p, {gone}) for p in parts[i:]) if q.rows]
                continue
            except (Permanent, ConfigError):
                raise
            except Exception as e:  # the store unreachable or overloaded: it heals
                limit = self.policy.insert_retry_max_s
                if limit and waited >= limit and not reported:
                    reported = True
                    log.error("ClickHouse has refused inserts for %.0f s (OMNIMETER_INSERT_RETRY_MAX_S=%g): "
                              "still retrying, nothing acked, lag grows: %s", waited, limit, e)  # fmt: skip
                log.warning("insert failed (%s); retrying in %.1f s, nothing acked meanwhile", e, delay)
                await self.sleep(delay)
                waited += delay
                delay = min(delay * 2, self.policy.backoff_max_s)
                continue
            i, tries = i + 1, 0
            delay = self.policy.backoff_first_s
        if reported:
            log.warning("ClickHouse accepts inserts again after %.0f s", waited)
        return refusals


def rating_failed(f: RatingFailure) -> Rejection:
    return event_rejection(RejectReason.RATING_FAILED, "", f.detail, f.event, f.index, f.record)


def positions_token(batch: Sequence[ConsumedRecord]) -> str:
    """A digest of the batch's offset range per partition: the same records give the same token."""
    ranges: dict[Partition, list[int]] = {}
    for rec in batch:
        r = ranges.setdefault(rec.tp, [rec.offset, rec.offset])
        r[0], r[1] = min(r[0], rec.offset), max(r[1], rec.offset)
    text = ";".join(f"{t}:{p}:{a}-{b}" for (t, p), (a, b) in sorted(ranges.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
