"""The ports between the stages (streams/) and what they write to: small protocols, so a stage is typed
against what it needs, and a unit test drives it with fakes. `sinks.clickhouse.ClickHouseStore` implements
the storage ports; the Faust seam (streams/faust/) implements the dead-letter publisher and the state
barrier.

| port                  | used by                      | contract                                             |
|-----------------------|------------------------------|------------------------------------------------------|
| `Writer`              | flush (step 5)               | insert blocks idempotently (tokens), or raise; types |
| `StoredOutcomes`      | dedupe (steps 1-2)           | what is already stored, by source position or key    |
| `CycleUsage`          | rate (tiers, seats)          | usage stored so far in a tenant's billing cycle      |
| `DeadLetterPublisher` | flush (step 4)               | publish letters, return once the broker acked all    |
| `StateBarrier`        | flush (step 6)               | state changes of acked records are durable           |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

Position = tuple[int, int]  # (kafka_offset, batch_index)
DedupeKey = tuple[str, str, str]  # (tenant_id, source, event_id)
Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class TableRows:
    """Rows for one table, in `columns` order, with the deduplication token of this exact block."""

    table: str
    columns: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)
    token: str = ""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record for the dead-letter topic: the original bytes, keyed and headed by its source."""

    key: bytes
    value: bytes
    headers: Headers


class Writer(Protocol):
    def insert(self, blocks: Sequence[TableRows]) -> None:
        """One attempt: insert every non-empty block, in order; raise on the first failure. Blocks carry
        deduplication tokens, so repeating the call after a failure stores nothing twice (the caller
        owns the retry: the flush retries with backoff and acks nothing meanwhile). Errors are
        classified (sinks/exceptions.py): `SinkRefused` for the rows' data, `SinkPermanent`, else
        transient."""
        ...

    def column_types(self, table: str) -> Mapping[str, str]:
        """Column name -> ClickHouse type (the rows are checked against them before an insert)."""
        ...


class StoredOutcomes(Protocol):
    def recorded_positions(
        self, topic: str, partition: int, from_offset: int, tables: Sequence[str] = ...
    ) -> set[Position]:
        """Source positions at or after `from_offset` of `topic`/`partition` with rows in any of `tables`
        (default: the three outcome tables). Waits while the store is unreachable."""
        ...

    def stored_keys(self, keys: Iterable[DedupeKey], since: datetime) -> set[DedupeKey]:
        """The subset of `keys` stored in raw_events by an ingest at or after `since`. Waits while the
        store is unreachable."""
        ...


class CycleUsage(Protocol):
    def cycle_usage(self, tenant: str, cycle: date) -> dict[str, tuple[Decimal, Decimal]]:
        """Charged quantity per meter stored so far for `tenant` in the cycle starting `cycle`: (under the
        paying party's settings, under the platform's)."""
        ...

    def cycle_seats(self, tenant: str, cycle: date) -> set[tuple[str, str]]:
        """(meter, user) of the seats counted so far for `tenant` in the cycle starting `cycle`."""
        ...


class Store(Writer, StoredOutcomes, CycleUsage, Protocol):
    """Everything the worker asks of its store, plus the plain queries of the rollups."""

    db: str

    def write(self, blocks: Sequence[TableRows], *, retry_for_s: float = 0.0) -> None:
        """`insert`, retried with backoff until it succeeds (`retry_for_s` > 0: raise `SinkError` after
        that long)."""
        ...

    def query_rows(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]: ...

    def command(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> None: ...


class DeadLetterPublisher(Protocol):
    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        """Send every letter and return once the broker acknowledged all of them; raise otherwise."""
        ...


class StateBarrier(Protocol):
    async def durable(self) -> None:
        """Return once every state change made so far (e.g. a changelog write) is stored by the broker."""
        ...
