"""The flush's order (streams/flush.py) driven through the ingest stage with small fakes of its ports:
nothing is acked before the insert succeeded, acks follow delivery order, a retry resends the same
tokens, and replays and rebalances are recognised. The real broker and engine are in tests/integration."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from omnimeter.sinks.base import DeadLetter, DedupeKey, Position, TableRows
from omnimeter.sinks.tables import RAW_EVENTS
from omnimeter.streams.flush import Flush, FlushPolicy
from omnimeter.streams.ingest import IngestConfig, IngestStage
from omnimeter.streams.metrics import WorkerMetrics
from omnimeter.streams.records import ConsumedRecord

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def event(n: int, tenant: str = "tenant-a") -> bytes:
    return json.dumps({
        "specversion": "1.0", "id": f"evt-{n}", "source": "sms-gateway", "type": "message.sent",
        "time": "2026-11-22T11:00:00Z", "subject": tenant, "datacontenttype": "application/json",
        "data": {"channel": "sms", "account": "+15550001", "contact": "+573001234567", "sender_kind": "operator",
                 "body": "hello"},
    }).encode()  # fmt: skip


class FakeStore:
    """Stores blocks in memory; refuses the first `fail` insert attempts; answers look-ups from what it holds."""

    def __init__(self, fail: int = 0, log: list[str] | None = None) -> None:
        self.fail = fail
        self.log = log if log is not None else []
        self.attempts: list[list[str]] = []  # the tokens of each attempt
        self.tables: dict[str, dict[str, TableRows]] = {}  # table -> token -> block (a token is stored once)
        self.types: dict[str, dict[str, str]] = {}  # table -> column -> type (none: rows are not checked)

    def column_types(self, table: str) -> dict[str, str]:
        return self.types.get(table, {})

    def insert(self, blocks: Sequence[TableRows]) -> None:
        self.attempts.append([b.token for b in blocks if b.rows])
        if self.fail:
            self.fail -= 1
            self.log.append("insert failed")
            raise ConnectionRefusedError("store down")
        for b in blocks:
            if b.rows:
                self.tables.setdefault(b.table, {}).setdefault(b.token, b)
        self.log.append("inserted")

    def rows(self, table: str) -> list[dict[str, Any]]:
        return [dict(zip(b.columns, r, strict=True)) for b in self.tables.get(table, {}).values() for r in b.rows]

    def recorded_positions(
        self, topic: str, partition: int, from_offset: int, tables: Sequence[str] = ("raw_events",)
    ) -> set[Position]:
        return {
            (r["kafka_offset"], r["batch_index"]) for t in tables for r in self.rows(t)
            if (r["kafka_topic"], r["kafka_partition"]) == (topic, partition) and r["kafka_offset"] >= from_offset
        }  # fmt: skip

    def stored_keys(self, keys: Iterable[DedupeKey], since: datetime) -> set[DedupeKey]:
        have = {(r["tenant_id"], r["source"], r["event_id"]) for r in self.rows(RAW_EVENTS.name)}
        return set(keys) & have


class FakeDeadLetters:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        self.letters += letters


def stage_over(store: FakeStore, sleeps: list[float] | None = None) -> IngestStage:
    async def sleep(s: float) -> None:
        if sleeps is not None:
            sleeps.append(s)

    flush = Flush(store, FakeDeadLetters(), FlushPolicy(), sleep=sleep)
    config = IngestConfig(batch_max_events=1000, flush_interval_s=60)
    return IngestStage(flush, config, WorkerMetrics(CollectorRegistry()), clock=lambda: NOW)


def record(offset: int, value: bytes, log: list[str], partition: int = 0) -> ConsumedRecord:
    async def ack() -> None:
        log.append(f"ack {partition}:{offset}")

    return ConsumedRecord("usage", partition, offset, value, ack=ack, key=_tenant_of(value))


def _tenant_of(value: bytes) -> bytes | None:
    """The key a producer gives a record: its events' tenant (DESIGN.md section 2)."""
    try:
        doc = json.loads(value)
    except ValueError:
        return None
    doc = doc[0] if isinstance(doc, list) and doc else doc
    return str(doc.get("subject", "")).encode() if isinstance(doc, dict) else None


def test_acks_only_after_the_insert_succeeds_and_in_delivery_order() -> None:
    log: list[str] = []
    store = FakeStore(fail=2, log=log)
    sleeps: list[float] = []
    stage = stage_over(store, sleeps)

    async def run() -> None:
        for offset, part in ((0, 0), (0, 1), (1, 0), (1, 1), (2, 0)):
            await stage.add(record(offset, event(10 * part + offset), log, part))
        result = await stage.flush()
        assert result.stored == 5

    asyncio.run(run())
    assert log == ["insert failed", "insert failed", "inserted", "ack 0:0", "ack 1:0", "ack 0:1", "ack 1:1", "ack 0:2"]
    assert sleeps == [0.1, 0.2]  # backoff between attempts
    assert store.attempts[0] == store.attempts[1] == store.attempts[2]  # every retry sends the same tokens
    assert len(store.rows(RAW_EVENTS.name)) == 5


def test_bad_records_are_dead_lettered_and_duplicates_dropped() -> None:
    log: list[str] = []
    store = FakeStore(log=log)
    stage = stage_over(store)

    async def run() -> None:
        await stage.add(record(0, event(1), log))
        await stage.add(record(1, b'{"not": "an event"', log))
        await stage.add(record(2, event(1), log))  # the same (tenant, source, id) again
        result = await stage.flush()
        assert (result.stored, result.duplicates, sum(result.rejected.values())) == (1, 1, 1)

    asyncio.run(run())
    assert [r["kafka_offset"] for r in store.rows("rejected_events")] == [1]
    assert [r["kafka_offset"] for r in store.rows("duplicate_events")] == [2]
    assert log[-3:] == ["ack 0:0", "ack 0:1", "ack 0:2"]


def test_a_replay_skips_what_is_stored_and_a_rebalance_forgets_where_partitions_continue() -> None:
    log: list[str] = []
    store = FakeStore(log=log)
    stage = stage_over(store)

    async def run() -> None:
        for o in range(3):
            await stage.add(record(o, event(o), log))
        await stage.flush()
        # Another worker stored offsets 3-4 while the partition was away; it comes back from offset 3.
        other = stage_over(store)
        for o in (3, 4):
            await other.add(record(o, event(o), log))
        await other.flush()
        stage.flusher.replay.partitions_changed()  # what the rebalance hook does
        for o in (3, 4, 5):
            await stage.add(record(o, event(o), log))
        result = await stage.flush()
        assert (result.stored, result.skipped_replayed, result.duplicates) == (1, 2, 0)

    asyncio.run(run())
    assert sorted(r["kafka_offset"] for r in store.rows(RAW_EVENTS.name)) == [0, 1, 2, 3, 4, 5]


def test_the_timer_sleeps_until_the_pending_records_are_due() -> None:
    clock = [NOW]
    store = FakeStore(log=[])
    flush = Flush(store, FakeDeadLetters(), FlushPolicy())
    stage = IngestStage(flush, IngestConfig(flush_interval_s=1.0), WorkerMetrics(CollectorRegistry()),
                        clock=lambda: clock[0])  # fmt: skip
    assert stage.seconds_until_due() == 1.0  # nothing pending: a whole interval
    asyncio.run(stage.add(record(0, event(1), [])))
    clock[0] = NOW + timedelta(seconds=0.7)
    assert stage.seconds_until_due() == pytest.approx(0.3)
    clock[0] = NOW + timedelta(seconds=1.5)
    assert stage.seconds_until_due() == 0.0
    asyncio.run(stage.flush_if_due())
    assert len(store.rows(RAW_EVENTS.name)) == 1
    assert stage.seconds_until_due() == 1.0
