"""Step 3 of a flush: stored events become billable lines, priced with the current reference data.

Runs inside the flush, so lines are inserted in the same ordered flush as the events they come from
(lines first, then raw_events). State:
* WhatsApp windows live in a Faust table, updated as each record arrives (a set union: idempotent and
  order-independent, so replays and late events give the same decisions);
* the quantity used per tenant, cycle and meter (for tiers) and the seats counted per cycle are read
  from billable_lines when a (tenant, cycle) is first needed, then kept up to date in memory: they always
  agree with what is stored, also after a crash;
* the WhatsApp decisions in effect per conversation (for corrections by late messages) are read from
  billable_lines (by `conversation`, back to the window horizon) for the conversations of a flush's late
  messages, in one query per flush, then kept up to date in memory the same way.

One event's rating is all or nothing: any exception while classifying or pricing it (other than the
store being unreachable, which fails the flush and is retried) undoes its state changes (cycle usage,
seats, decisions) and makes it a `RatingFailure`; the flush dead-letters it (`rating_failed`) and the
other events go on.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter as CounterT
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from omnimeter.errors import Permanent, Transient
from omnimeter.faults import NO_FAULTS, Faults
from omnimeter.pricing.rating import (
    BillableLine,
    ConversationKey,
    DecisionRoot,
    Rater,
    decisions_from_lines,
    is_late,
)
from omnimeter.pricing.units import conversation_key
from omnimeter.pricing.whatsapp import WindowState
from omnimeter.schemas.events import UsageEvent
from omnimeter.sinks.base import CycleUsage
from omnimeter.sinks.exceptions import SinkError
from omnimeter.streams.records import ConsumedRecord
from omnimeter.streams.reference import ReferenceData
from omnimeter.streams.rows import line_row

WindowLookup = Callable[[tuple[str, str, str]], WindowState | None]
INFRASTRUCTURE = (SinkError, Transient, Permanent)  # not the event's fault: the flush fails and is retried


@dataclass(frozen=True, slots=True)
class RatingFailure:
    """An event whose rating raised: dead-lettered `rating_failed` with `error`'s message."""

    record: ConsumedRecord
    index: int
    event: UsageEvent
    error: Exception

    @property
    def detail(self) -> str:
        return f"rating event {self.event.id} raised {type(self.error).__name__}: {self.error}"[:1000]


@dataclass
class _Cycle:
    used: dict[tuple[str, bool], Decimal] = field(default_factory=dict)  # (meter, platform's quantity?)
    seats: set[tuple[str, str]] = field(default_factory=set)


class StoredRatingState:
    """`pricing.rating.RatingState` for the stream: windows from the Faust table, cycle usage from
    ClickHouse. Not thread-safe; used by one flush at a time. Its cache is per-partition state: the
    rebalance hook marks it stale, and the next flush starts from what is stored."""

    MAX_CACHED_CYCLES = 20_000
    MAX_CACHED_CONVERSATIONS = 100_000

    def __init__(self, store: CycleUsage, windows: WindowLookup) -> None:
        self.store = store
        self.windows = windows
        self._cycles: dict[tuple[str, date], _Cycle] = {}
        # a counter, not a flag: a rebalance told while `trim` runs (rating may run in a thread) is never lost
        self._changes = 0
        self._trimmed_at = 0
        self._undo: list[Callable[[], None]] | None = None  # inside `atomic`: how to take changes back
        self._decided: dict[ConversationKey, dict[DecisionRoot, BillableLine]] = {}
        # decisions made in this flush for conversations not loaded: merged in if one is loaded later
        self._unstored: dict[ConversationKey, dict[DecisionRoot, BillableLine]] = {}
        self._fresh: set[ConversationKey] = set()
        # conversations the flush's events still to rate are late in by now (set by `RateStage.rate`)
        self.upcoming: Callable[[], Iterable[ConversationKey]] = tuple

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """The state changes made inside are undone if it raises (one event's rating: all or nothing)."""
        self._undo = []
        try:
            yield
        except BaseException:
            for undo in reversed(self._undo):
                undo()
            raise
        finally:
            self._undo = None

    def decisions(self, key: ConversationKey, since: datetime) -> dict[DecisionRoot, BillableLine]:
        """The decisions in effect of `key`'s messages, stored ones back to `since` at least."""
        found = self._decided.get(key)
        if found is None:
            if key in self._fresh:  # nothing decided before this flush can change: this flush's decisions
                return self._unstored.setdefault(key, {})
            # The agent goes on updating windows while a flush rates, so conversations turn late after
            # `_read_decisions` looked: one query for this one and every other the flush will ask for by
            # now (a floor read earlier is at most earlier: a superset of the decisions, never fewer).
            self.load_decisions(sorted({key, *self.upcoming()}), {key: since})
            found = self._decided[key]
        return found

    def known(self, key: ConversationKey) -> bool:
        """Whether this flush needs no read for `key`'s decisions (read before, or fresh)."""
        return key in self._decided or key in self._fresh

    def fresh(self, keys: Iterable[ConversationKey]) -> None:
        """For this flush: conversations whose messages timed after the flush's late ones all came in this
        flush's batch, so no decision stored before can change (no need to read them)."""
        self._fresh.update(keys)

    def set_decision(self, key: ConversationKey, root: DecisionRoot, line: BillableLine) -> None:
        target = self._decided.get(key)
        if target is None:
            target = self._unstored.setdefault(key, {})
        before = target.get(root)
        target[root] = line
        if self._undo is not None:
            self._undo.append(lambda: target.pop(root) if before is None else target.__setitem__(root, before))

    def load_decisions(
        self, keys: Sequence[ConversationKey], since: Mapping[ConversationKey, datetime] | None = None
    ) -> None:
        """Read the decisions of conversations not cached, back to each one's window horizon, or to
        `since[key]` when that is earlier (the floor of a state read before the agent changed it), in one
        query. Floors only move later as a state grows: a decision before the earliest is never asked for."""
        floors: dict[ConversationKey, datetime] = {}
        for key in keys:
            if key not in self._decided:
                state = self.windows(key)
                floor = state.decidable_from() if state is not None else None
                asked = (since or {}).get(key)
                if asked is not None:
                    floor = asked if floor is None else min(floor, asked)
                if floor is None:
                    self._decided[key] = self._unstored.pop(key, {})
                else:
                    floors[key] = floor
        if not floors:
            return
        found = decisions_from_lines(self.store.window_decisions(sorted(floors), min(floors.values())))
        for key in floors:
            decided = found.get(key, {})
            decided.update(self._unstored.pop(key, {}))  # this flush's are newer than the stored ones
            self._decided[key] = decided

    def window(self, key: tuple[str, str, str]) -> WindowState | None:
        return self.windows(key)

    def set_window(self, key: tuple[str, str, str], state: WindowState) -> None:
        pass  # the agent applied this event's window change when the record arrived

    def _cycle(self, tenant: str, cycle: date) -> _Cycle:
        c = self._cycles.get((tenant, cycle))
        if c is None:
            used: dict[tuple[str, bool], Decimal] = {}
            for meter, (quantity, quantity_platform) in self.store.cycle_usage(tenant, cycle).items():
                used[(meter, False)], used[(meter, True)] = quantity, quantity_platform
            c = _Cycle(used, self.store.cycle_seats(tenant, cycle))
            self._cycles[(tenant, cycle)] = c
        return c

    def used(self, tenant: str, cycle: date, meter: str, platform: bool = False) -> Decimal:
        return self._cycle(tenant, cycle).used.get((meter, platform), Decimal(0))

    def add_used(self, tenant: str, cycle: date, meter: str, quantity: Decimal, platform: bool = False) -> None:
        used, key = self._cycle(tenant, cycle).used, (meter, platform)
        before = used.get(key)
        used[key] = (before or Decimal(0)) + quantity
        if self._undo is not None:
            self._undo.append(lambda: used.pop(key) if before is None else used.__setitem__(key, before))

    def seat_counted(self, tenant: str, cycle: date, meter: str, user: str) -> bool:
        return (meter, user) in self._cycle(tenant, cycle).seats

    def count_seat(self, tenant: str, cycle: date, meter: str, user: str) -> None:
        seats, seat = self._cycle(tenant, cycle).seats, (meter, user)
        if seat not in seats:
            seats.add(seat)
            if self._undo is not None:
                self._undo.append(lambda: seats.discard(seat))

    def trim(self) -> None:
        """Forget cached cycles when stale or too many (call between flushes: everything rated before is
        stored)."""
        seen = self._changes
        stale = seen != self._trimmed_at
        self._unstored.clear()  # stored by now
        self._fresh.clear()
        if stale or len(self._decided) > self.MAX_CACHED_CONVERSATIONS:
            self._decided.clear()
        if stale or len(self._cycles) > self.MAX_CACHED_CYCLES:
            self._cycles.clear()
            self._trimmed_at = seen

    def partitions_changed(self) -> None:
        """Rebalance hook: another worker may have rated this worker's former partitions meanwhile. The
        cache is dropped before the next rating, never during one (a flush in flight keeps its view)."""
        self._changes += 1


class RateStage:
    def __init__(
        self, reference: ReferenceData, store: CycleUsage, windows: WindowLookup, faults: Faults = NO_FAULTS
    ) -> None:
        self.reference = reference
        self.state = StoredRatingState(store, windows)
        self.faults = faults
        self.unpriced: CounterT[tuple[str, str]] = CounterT()  # of the last `rate`: (meter, party) -> lines
        self.failures: list[RatingFailure] = []  # of the last `rate`: events whose rating raised
        self.corrections = 0  # of the last `rate`: WhatsApp decisions corrected
        self.past_horizon = 0  # of the last `rate`: late WhatsApp messages past the window horizon
        self.provider_prices_ignored = 0  # of the last `rate`: provider prices on events the supplier does not bill

    @property
    def ready(self) -> bool:
        return self.reference.directory is not None and self.reference.books is not None

    def tenant_check(self) -> Callable[[str], bool]:
        """Whether the directory knows a tenant, for one flush (the directory is read once, not per event;
        before any directory arrives, every tenant passes)."""
        d = self.reference.directory
        return (lambda _tenant: True) if d is None else d.tenants_by_id().__contains__

    def _read_decisions(self, conversations: Sequence[tuple[int, ConversationKey, UsageEvent]]) -> None:
        """Read, in one query, the stored decisions of the conversations of this flush's late WhatsApp
        messages. A message is late for decisions stored before only if a business message of its
        conversation timed at or after it came in an earlier batch: a time of this batch's own messages
        does not count (an exact time collision with one of them is taken as this batch's)."""
        batch_times: dict[ConversationKey, set[datetime]] = {}
        late: list[tuple[ConversationKey, datetime, WindowState]] = []
        for _, key, event in conversations:
            if event.type in ("message.sent", "message.delivered"):
                batch_times.setdefault(key, set()).add(event.time)
            state = self.state.window(key)
            if state is not None and is_late(event, state):
                late.append((key, event.time, state))
        load, fresh = set(), set()
        for key, t, state in late:
            mine = batch_times.get(key, set())
            (load if any(o >= t and o not in mine for o in state.outbound) else fresh).add(key)
        self.state.fresh(fresh - load)
        if load:
            self.state.load_decisions(sorted(load))

    def _late_keys(
        self, conversations: Sequence[tuple[int, ConversationKey, UsageEvent]], rated: int
    ) -> Iterator[ConversationKey]:
        """The conversations the flush's events after the first `rated` are late in on the current windows
        (not those whose decisions are already read)."""
        state = self.state
        for _, key, event in conversations[bisect_right(conversations, rated, key=itemgetter(0)) :]:
            if not state.known(key) and (window := state.window(key)) is not None and is_late(event, window):
                yield key

    def rate(self, items: Sequence[tuple[ConsumedRecord, int, Any]], now: datetime) -> list[Sequence[Any]]:
        """Rows of billable_lines for (record, index in record, event) items, in order. An event whose
        rating raises has no rows and no effect on the state; it is listed in `failures`. Raises only
        when the store is unreachable (`INFRASTRUCTURE`)."""
        self.failures = []
        books, directory = self.reference.books, self.reference.directory
        if books is None or directory is None:
            return []
        self.state.trim()
        # the flush's WhatsApp events, each with its place (1-based) in `items` and its conversation
        conversations = [(n, k, e) for n, (_, _, e) in enumerate(items, 1) if (k := conversation_key(e)) is not None]
        self._read_decisions(conversations)
        rater = Rater(books, directory, self.state)
        rows: list[Sequence[Any]] = []
        rated = 0  # items taken so far (the closure reads it as the loop goes)
        self.state.upcoming = lambda: self._late_keys(conversations, rated)
        try:
            for rec, index, event in items:
                rated += 1
                try:
                    with self.state.atomic():
                        self.faults.before_rating(event.id)
                        lines = rater.rate(event)
                except INFRASTRUCTURE:
                    raise
                except Exception as e:  # this event's fault (or a rule's bug): dead-lettered, the batch goes on
                    self.failures.append(RatingFailure(rec, index, event, e))
                    continue
                for ln in lines:
                    rows.append(line_row(ln, rec, index, now))
        finally:
            self.state.upcoming = tuple  # the flush's items are not held past it
        self.unpriced = rater.unpriced  # read by the flush for its metrics
        self.corrections, self.past_horizon = rater.corrections, rater.past_horizon
        self.provider_prices_ignored = rater.provider_prices_ignored
        return rows
