"""Step 3 of a flush: stored events become billable lines, priced with the current reference data.

Runs inside the flush, so lines are inserted in the same ordered flush as the events they come from
(lines first, then raw_events). State:
* WhatsApp windows live in a Faust table, updated as each record arrives (a set union: idempotent and
  order-independent, so replays and late events give the same decisions);
* the quantity used per tenant, cycle and meter (for tiers) and the seats counted per cycle are read
  from billable_lines when a (tenant, cycle) is first needed, then kept up to date in memory: they always
  agree with what is stored, also after a crash.

One event's rating is all or nothing: any exception while classifying or pricing it (other than the
store being unreachable, which fails the flush and is retried) undoes its state changes and makes it a
`RatingFailure`; the flush dead-letters it (`rating_failed`) and the other events go on.
"""

from __future__ import annotations

from collections import Counter as CounterT
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from omnimeter.errors import Permanent, Transient
from omnimeter.faults import NO_FAULTS, Faults
from omnimeter.pricing.rating import Rater
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

    def __init__(self, store: CycleUsage, windows: WindowLookup) -> None:
        self.store = store
        self.windows = windows
        self._cycles: dict[tuple[str, date], _Cycle] = {}
        # a counter, not a flag: a rebalance told while `trim` runs (rating may run in a thread) is never lost
        self._changes = 0
        self._trimmed_at = 0
        self._undo: list[Callable[[], None]] | None = None  # inside `atomic`: how to take changes back

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
        if seen != self._trimmed_at or len(self._cycles) > self.MAX_CACHED_CYCLES:
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

    @property
    def ready(self) -> bool:
        return self.reference.directory is not None and self.reference.books is not None

    def tenant_check(self) -> Callable[[str], bool]:
        """Whether the directory knows a tenant, for one flush (the directory is read once, not per event;
        before any directory arrives, every tenant passes)."""
        d = self.reference.directory
        return (lambda _tenant: True) if d is None else d.tenants_by_id().__contains__

    def rate(self, items: Sequence[tuple[ConsumedRecord, int, Any]], now: datetime) -> list[Sequence[Any]]:
        """Rows of billable_lines for (record, index in record, event) items, in order. An event whose
        rating raises has no rows and no effect on the state; it is listed in `failures`. Raises only
        when the store is unreachable (`INFRASTRUCTURE`)."""
        self.failures = []
        books, directory = self.reference.books, self.reference.directory
        if books is None or directory is None:
            return []
        self.state.trim()
        rater = Rater(books, directory, self.state)
        rows: list[Sequence[Any]] = []
        for rec, index, event in items:
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
        self.unpriced = rater.unpriced  # read by the flush for its metrics
        return rows
