"""ClickHouse through clickhouse-connect: ``chdb://PATH`` (the engine in-process), ``http(s)://HOST:PORT``, or
``omnimeter://HOST:PORT`` (an embedded store shared by `omnimeter store serve`, see sinks/shared.py).

Inserts carry an ``insert_deduplication_token`` (the tables keep a deduplication window), so a retry by
this class or by clickhouse-connect itself never stores a block twice. A failing insert is retried with
exponential backoff for as long as the caller lets it (`retry_for_s`), then raises `SinkError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import clickhouse_connect
from clickhouse_connect.driver import binding
from clickhouse_connect.driver.client import Client

from omnimeter.faults import FAULTS
from sinks.base import TableRows
from sinks.exceptions import SinkError
from sinks.migrate import apply_migrations

log = logging.getLogger(__name__)

T = TypeVar("T")
_KEYS_PER_QUERY = 25_000
Position = tuple[int, int]  # (kafka_offset, batch_index)
DedupeKey = tuple[str, str, str]  # (tenant_id, source, event_id)


def connect(url: str, database: str, *, migrate: bool = True, cluster: str | None = None) -> ClickHouseStore:
    """Open the store at `url`, creating the database and applying migrations when `migrate`."""
    try:
        if url.startswith("omnimeter://"):  # an embedded store shared by `omnimeter store serve`
            from sinks.shared import SharedStoreClient

            client = SharedStoreClient(url)  # type: ignore[assignment]
        else:
            client = clickhouse_connect.get_client(dsn=url)
    except Exception as e:
        hint = " (chdb: is another process holding this path?)" if url.startswith("chdb:") else ""
        raise SinkError(f"cannot open ClickHouse at {url}: {e}{hint}") from e
    store = ClickHouseStore(client, database)
    if migrate:
        try:
            apply_migrations(client, database, cluster)
        except SinkError:
            raise
        except Exception as e:
            raise SinkError(f"cannot migrate ClickHouse at {url}: {e}") from e
    return store


class InsertObserver(Protocol):
    def inserted(self, table: str, rows: int, seconds: float) -> None: ...
    def insert_failed(self, table: str) -> None: ...


class ClickHouseStore:
    """One client, one database. Calls from several threads (the worker's flush, its reports API) take
    turns on one lock: chDB is one engine per process. An `observer` hears of every insert and every
    failed attempt (the worker's metrics)."""

    def __init__(self, client: Client, database: str, observer: InsertObserver | None = None) -> None:
        self.client = client
        self.db = database
        self.observer = observer
        self.lock = threading.RLock()

    def close(self) -> None:
        self.client.close()

    def write(
        self,
        blocks: Sequence[TableRows],
        *,
        retry_for_s: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        insert_settings: dict[str, Any] | None = None,
    ) -> None:
        """Insert every non-empty block, retrying each (same token) until it succeeds; with `retry_for_s`
        > 0, give up after that long with `SinkError`. Nothing is acked by the caller until this returns."""
        for block in blocks:
            if block.rows:
                settings = {"insert_deduplication_token": block.token} if block.token else {}
                settings |= insert_settings or {}
                started = time.monotonic()
                self._retrying(
                    f"insert into {block.table}",
                    lambda b=block, st=settings: self._insert(b, st),
                    retry_for_s,
                    sleep,
                    table=block.table,
                )
                if self.observer is not None:
                    self.observer.inserted(block.table, len(block.rows), time.monotonic() - started)

    def _insert(self, block: TableRows, settings: dict[str, Any]) -> None:
        FAULTS.before_insert(block.table)
        with self.lock:
            self.client.insert(
                f"{self.db}.{block.table}", block.rows, column_names=list(block.columns), settings=settings
            )

    def _retrying(
        self,
        what: str,
        call: Callable[[], T],
        retry_for_s: float,
        sleep: Callable[[float], None] = time.sleep,
        table: str = "",
    ) -> T:
        delay, waited = 0.1, 0.0
        while True:
            try:
                return call()
            except Exception as e:
                if table and self.observer is not None:
                    self.observer.insert_failed(table)
                if retry_for_s and waited >= retry_for_s:
                    raise SinkError(f"{what} failed for {waited:.0f} s, giving up: {e}") from e
                log.warning("%s failed (%s); retrying in %.1f s", what, e, delay)
                sleep(delay)
                waited += delay
                delay = min(delay * 2, 5.0)

    def recorded_positions(
        self,
        topic: str,
        partition: int,
        from_offset: int,
        tables: Sequence[str] = ("raw_events", "rejected_events", "duplicate_events"),
    ) -> set[Position]:
        """Source positions at or after `from_offset` with rows stored in any of `tables`."""
        found: set[Position] = set()
        for table in tables:
            rows = self._retrying(
                f"reading stored positions of {table}",
                lambda t=table: self.query_rows(
                    f"SELECT kafka_offset, batch_index FROM {self.db}.{t} "
                    "WHERE kafka_topic = %(t)s AND kafka_partition = %(p)s AND kafka_offset >= %(o)s",
                    {"t": topic, "p": partition, "o": from_offset},
                ),
                0.0,
            )
            found.update((int(o), int(i)) for o, i in rows)
        return found

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
            rows = self._retrying(
                "dedupe look-up in raw_events",
                lambda c=chunk: self.query_rows(
                    f"SELECT tenant_id, source, event_id FROM {self.db}.raw_events "
                    "WHERE tenant_id IN {t:Array(String)} AND event_id IN {e:Array(String)} "
                    "AND ingested_at >= {s:DateTime64(3, 'UTC')}",
                    {"t": sorted({k[0] for k in c}), "e": [k[2] for k in c], "s": since},
                ),
                0.0,
            )
            found.update(k for k in ((t, s, e) for t, s, e in rows) if k in wanted)
        return found

    def query_rows(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        try:
            FAULTS.check_sink()
            with self.lock:
                result = self.client.query(sql, parameters=parameters or {}, settings=settings or {})
        except Exception as e:
            raise SinkError(f"query failed: {_first_line(e)}") from e
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
            raise SinkError(f"statement failed: {_first_line(e)}") from e


def _faster_escape_str(value: str) -> str:
    """clickhouse-connect's `escape_str` (a backslash before each of `must_escape`), with `str.replace`
    instead of a generator per character; same output. Binding the dedupe look-up's 20k ids per flush
    through the original was 3% of the worker's time (bench profile, issue 7)."""
    if _BS in value:
        value = value.replace(_BS, _BS + _BS)  # first: the other replacements add backslashes
    for ch in _OTHERS:
        if ch in value:
            value = value.replace(ch, _BS + ch)
    return value


_BS = binding.BS
_OTHERS = tuple(ch for ch in binding.must_escape if ch != _BS)
binding.escape_str = _faster_escape_str  # module global: format_str and format_bind_value look it up per call


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:500] if str(e).strip() else type(e).__name__
