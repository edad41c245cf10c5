"""ClickHouse through clickhouse-connect: ``chdb://PATH`` (the engine in-process), ``http(s)://HOST:PORT``, or
``omnimeter://HOST:PORT`` (an embedded store shared by `omnimeter store serve`, see sinks/shared.py).

Inserts carry an ``insert_deduplication_token`` (the tables keep a deduplication window), so a retry by
this class or by clickhouse-connect itself never stores a block twice. A failing insert is retried with
exponential backoff for as long as the caller lets it (`retry_for_s`), then raises `SinkError`.

Every driver error is classified (`classify`): the store unreachable or overloaded is `SinkUnavailable`
(retried), the data of an insert refused is `SinkRefused` (the caller quarantines the rows), and what no
retry can heal (authentication, access, a missing database, table or column) is `SinkPermanent`. The
look-ups retry only `SinkUnavailable`, and stop retrying once `stop()` was called (`SinkStopped`), so a
stopping worker is never held by a thread sleeping in a retry loop.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import clickhouse_connect
from clickhouse_connect.driver.exceptions import DataError, ProgrammingError

from omnimeter.faults import NO_FAULTS, Faults
from omnimeter.pricing.rating import BillableLine
from omnimeter.settings import mask_url
from omnimeter.sinks import queries
from omnimeter.sinks.base import DedupeKey, Position, TableRows
from omnimeter.sinks.exceptions import (
    SinkError,
    SinkGaveUp,
    SinkPermanent,
    SinkRefused,
    SinkStopped,
    SinkUnavailable,
)
from omnimeter.sinks.migrate import apply_migrations, load_migrations
from omnimeter.sinks.tables import OUTCOME_TABLES

log = logging.getLogger(__name__)

T = TypeVar("T")
_KEYS_PER_QUERY = 25_000


class QueryResult(Protocol):
    @property
    def result_rows(self) -> Sequence[Sequence[Any]]: ...


class DriverClient(Protocol):
    """The calls this module makes on a client: clickhouse-connect's (chdb or HTTP) or the shared store's."""

    def query(
        self, query: str, /, *, parameters: dict[str, Any] | None = ..., settings: dict[str, Any] | None = ...
    ) -> QueryResult: ...

    def command(
        self, cmd: str, /, *, parameters: dict[str, Any] | None = ..., settings: dict[str, Any] | None = ...
    ) -> Any: ...

    def insert(
        self, table: str, data: Sequence[Sequence[Any]], /, *, column_names: Sequence[str],
        settings: dict[str, Any] | None = ...,
    ) -> Any: ...  # fmt: skip

    def close(self) -> None: ...


def connect(
    url: str, database: str, *, migrate: bool = True, cluster: str | None = None, faults: Faults = NO_FAULTS
) -> ClickHouseStore:
    """Open the store at `url`, creating the database and applying migrations when `migrate`."""
    try:
        if url.startswith("omnimeter://"):  # an embedded store shared by `omnimeter store serve`
            from omnimeter.sinks.shared import SharedStoreClient

            client: DriverClient = SharedStoreClient(url)
        else:
            client = clickhouse_connect.get_client(dsn=url)
    except Exception as e:
        hint = " (chdb: is another process holding this path?)" if url.startswith("chdb:") else ""
        raise classify(e, f"cannot open ClickHouse at {mask_url(url)}", hint=hint) from e
    store = ClickHouseStore(client, database, faults=faults)
    if migrate and url.startswith("omnimeter://"):  # the store process migrated; clients send no DDL
        _check_schema(client, database, url)
    elif migrate:
        try:
            apply_migrations(client, database, cluster)
        except SinkError:
            raise
        except Exception as e:
            raise SinkError(f"cannot migrate ClickHouse at {mask_url(url)}: {_first_line(e)}") from e
    return store


def _check_schema(client: DriverClient, database: str, url: str) -> None:
    try:
        rows = client.query(f"SELECT max(version) FROM {database}.schema_migrations").result_rows
    except Exception as e:
        if "store key" in str(e):
            raise SinkPermanent(
                f"the shared store at {mask_url(url)} refused this process: {_first_line(e)}; use the key in "
                "the store's <data dir>/store_key (omnimeter://omnimeter:KEY@HOST:PORT)"
            ) from e
        raise SinkUnavailable(f"cannot read the shared store at {mask_url(url)}: {_first_line(e)}") from e
    have, need = int(rows[0][0] or 0), max(m.version for m in load_migrations())
    if have < need:
        raise SinkPermanent(
            f"the shared store at {mask_url(url)} has schema {have}, this omnimeter needs {need}: "
            "restart `omnimeter store serve` with this version"
        )


class InsertObserver(Protocol):
    def inserted(self, table: str, rows: int, seconds: float) -> None: ...
    def insert_failed(self, table: str) -> None: ...


class ClickHouseStore:
    """One client, one database. Calls from several threads (the worker's flush, its reports API) take
    turns on one lock: chDB is one engine per process. An `observer` hears of every insert and every
    failed attempt (the worker's metrics)."""

    def __init__(
        self, client: DriverClient, database: str, observer: InsertObserver | None = None, faults: Faults = NO_FAULTS
    ) -> None:
        self.faults = faults
        self.client = client
        self.db = database
        self.observer = observer
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._types: dict[str, dict[str, str]] = {}

    def close(self) -> None:
        self.client.close()

    def stop(self) -> None:
        """Retry loops end (`SinkStopped`) instead of sleeping on: the worker is stopping."""
        self.stopping.set()

    def column_types(self, table: str) -> dict[str, str]:
        """Column name -> ClickHouse type of `table`, as the engine reports it (read once)."""
        types = self._types.get(table)
        if types is None:
            sql = "SELECT name, type FROM system.columns WHERE database = %(d)s AND table = %(t)s"
            rows = self._retrying(
                f"reading the columns of {table}", lambda: self.query_rows(sql, {"d": self.db, "t": table}), 0.0
            )
            if not rows:
                raise SinkPermanent(
                    f"table {self.db}.{table} does not exist: run the worker once with migrations (or check "
                    "OMNIMETER_CLICKHOUSE_DATABASE)"
                )
            types = self._types[table] = {str(n): str(t) for n, t in rows}
        return types

    def write(
        self,
        blocks: Sequence[TableRows],
        *,
        retry_for_s: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        insert_settings: dict[str, Any] | None = None,
    ) -> None:
        """`insert`, retrying each block (same token) until it succeeds; with `retry_for_s` > 0, give up
        after that long with `SinkError`. Nothing is acked by the caller until this returns."""
        for block in blocks:
            if block.rows:
                self._retrying(
                    f"insert into {block.table}",
                    functools.partial(self._insert_block, block, insert_settings),
                    retry_for_s,
                    sleep,
                )

    def insert(self, blocks: Sequence[TableRows]) -> None:
        """One attempt per non-empty block, in order; raises on the first failure, classified
        (`SinkUnavailable`, `SinkRefused`, `SinkPermanent`)."""
        for block in blocks:
            if block.rows:
                try:
                    self._insert_block(block)
                except Exception as e:
                    raise classify(e, f"insert into {block.table} failed", table=block.table) from e

    def _insert_block(self, block: TableRows, extra: dict[str, Any] | None = None) -> None:
        settings = {"insert_deduplication_token": block.token} if block.token else {}
        settings |= extra or {}
        started = time.monotonic()
        try:
            self.faults.before_insert(block.table)
            with self.lock:
                self.client.insert(
                    f"{self.db}.{block.table}", block.rows, column_names=list(block.columns), settings=settings
                )
        except Exception:
            if self.observer is not None:
                self.observer.insert_failed(block.table)
            raise
        if self.observer is not None:
            self.observer.inserted(block.table, len(block.rows), time.monotonic() - started)

    def _retrying(
        self,
        what: str,
        call: Callable[[], T],
        retry_for_s: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        """`call` until it succeeds, retrying only what may heal (`SinkUnavailable`); ends with
        `SinkStopped` once the store is stopping."""
        delay, waited = 0.1, 0.0
        while True:
            try:
                return call()
            except Exception as e:
                error = e if isinstance(e, SinkError) else classify(e, f"{what} failed")
                if not isinstance(error, SinkUnavailable):
                    raise error from e
                if retry_for_s and waited >= retry_for_s:
                    raise SinkGaveUp(f"{what} failed for {waited:.0f} s, giving up: {e}") from e
                if self.stopping.is_set():
                    raise SinkStopped(f"{what}: the store is stopping ({e})") from e
                log.warning("%s failed (%s); retrying in %.1f s", what, e, delay)
                if sleep is time.sleep:
                    self.stopping.wait(delay)
                else:
                    sleep(delay)
                waited += delay
                delay = min(delay * 2, 5.0)

    def recorded_positions(
        self,
        topic: str,
        partition: int,
        from_offset: int,
        tables: Sequence[str] = OUTCOME_TABLES,
    ) -> set[Position]:
        """Source positions at or after `from_offset` with rows stored in any of `tables`."""
        found: set[Position] = set()
        for table in tables:
            sql, params = queries.recorded_positions(self.db, table, topic, partition, from_offset)
            rows = self._retrying(
                f"reading stored positions of {table}", functools.partial(self.query_rows, sql, params), 0.0
            )
            found.update((int(o), int(i)) for o, i in rows)
        return found

    def cycle_usage(self, tenant: str, cycle: date) -> dict[str, tuple[Decimal, Decimal]]:
        rows = self.query_until_answered(*queries.cycle_usage(self.db, tenant, cycle))
        return {str(m): (Decimal(q), Decimal(qp)) for m, q, qp in rows}

    def window_decisions(self, keys: Sequence[tuple[str, str, str]], since: datetime) -> list[BillableLine]:
        wanted = set(keys)
        rows = self.query_until_answered(*queries.window_decisions(self.db, sorted(wanted), since))
        lines = [BillableLine(*row[: len(BillableLine._fields)]) for row in rows]
        return [
            ln if ln.event_time.tzinfo is not None else ln._replace(event_time=ln.event_time.replace(tzinfo=UTC))
            for ln in lines
            if (ln.tenant_id, ln.account, ln.conversation) in wanted
        ]  # DateTime64(3, 'UTC') comes back naive

    def cycle_seats(self, tenant: str, cycle: date) -> set[tuple[str, str]]:
        return {(str(m), str(u)) for m, u in self.query_until_answered(*queries.cycle_seats(self.db, tenant, cycle))}

    def stored_keys(self, keys: Iterable[DedupeKey], since: datetime) -> set[DedupeKey]:
        """The subset of `keys` stored in raw_events by an ingest at or after `since`.

        The look-up sends flat arrays of tenants and event ids as bound parameters and keeps the exact
        (tenant, source, id) matches here: a literal tuple set of 20k keys cost ~1.5 s to parse per
        flush even against an empty table; the arrays cost ~0.25 s (bench notes, issue 7)."""
        keys = list(keys)
        found: set[DedupeKey] = set()
        for i in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[i : i + _KEYS_PER_QUERY]
            wanted = set(chunk)
            sql, params = queries.stored_keys(self.db, chunk, since)
            look_up = functools.partial(self.query_rows, sql, params)
            rows = self._retrying("dedupe look-up in raw_events", look_up, 0.0)
            found.update(k for k in ((t, s, e) for t, s, e in rows) if k in wanted)
        return found

    def query_rows(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        try:
            self.faults.check_sink()
            with self.lock:
                result = self.client.query(sql, parameters=parameters or {}, settings=settings or {})
        except Exception as e:
            raise classify(e, "query failed") from e
        return [tuple(r) for r in result.result_rows]

    def query_until_answered(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """`query_rows`, retried with backoff while the store is unreachable (the ingest path waits)."""
        return self._retrying("query", lambda: self.query_rows(sql, parameters), 0.0)

    def command(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> None:
        """A statement without rows (INSERT ... SELECT, DELETE), parameters bound by the client."""
        try:
            with self.lock:
                self.client.command(sql, parameters=parameters or {}, settings=settings or {})
        except Exception as e:
            raise classify(e, "statement failed") from e


# ClickHouse error codes no retry can heal, with what to do.
_PERMANENT = {
    516: "check OMNIMETER_CLICKHOUSE_URL's user and password",  # AUTHENTICATION_FAILED
    192: "check OMNIMETER_CLICKHOUSE_URL's user",  # UNKNOWN_USER
    497: "grant the user INSERT and SELECT on the database",  # ACCESS_DENIED
    164: "the user is read-only: use one that may write",  # READONLY
    81: "check OMNIMETER_CLICKHOUSE_DATABASE, or let the worker migrate",  # UNKNOWN_DATABASE
    60: "run the migrations (start the worker with migrations) or check the database",  # UNKNOWN_TABLE
    16: "the table's schema does not match: run the migrations",  # NO_SUCH_COLUMN_IN_TABLE
    47: "the table's schema does not match: run the migrations",  # UNKNOWN_IDENTIFIER
    10: "the table's schema does not match: run the migrations",  # NOT_FOUND_COLUMN_IN_BLOCK
}
# Codes that mean: the data of this insert is refused (the same rows fail again).
_REFUSED = {6, 27, 38, 41, 53, 69, 70, 72, 117, 131, 252, 321, 407}


def classify(e: BaseException, what: str, *, table: str = "", hint: str = "") -> SinkError:
    """A driver error as `SinkPermanent`, `SinkRefused` (needs `table`) or `SinkUnavailable`, with `what`
    failed and, for a permanent one, what to do."""
    if isinstance(e, SinkError):
        return e
    text = _first_line(e)
    m = re.search(r"Code: (\d+)\.", str(e))
    code = int(m.group(1)) if m else None
    if code in _PERMANENT:
        return SinkPermanent(f"{what}: {text}; {_PERMANENT[code]}")
    if code is None and isinstance(e, ProgrammingError) and "Unrecognized column" in str(e):
        # clickhouse-connect's own check, before anything is sent: a column this code writes that the
        # table lacks (a migration not applied). Retrying would never heal it.
        return SinkPermanent(f"{what}: {text}; {_PERMANENT[16]}")
    if table and (
        code in _REFUSED or (code is None and isinstance(e, DataError | ValueError | TypeError | OverflowError))
    ):
        return SinkRefused(f"{what}: {text}", table)
    return SinkUnavailable(f"{what}: {text}{hint}")


def _first_line(e: BaseException) -> str:
    return str(e).strip().splitlines()[0][:500] if str(e).strip() else type(e).__name__
