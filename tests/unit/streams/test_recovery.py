"""A failed flush heals instead of poisoning the stage; a permanent error stops it; `stop` ends within its
grace period whatever is being retried; rows that cannot be stored are quarantined, one part per partition."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry

from omnimeter.sinks.base import DedupeKey, TableRows
from omnimeter.sinks.exceptions import SinkPermanent, SinkRefused, SinkUnavailable
from omnimeter.sinks.tables import RAW_EVENTS, REJECTED_EVENTS
from omnimeter.streams.flush import Flush, FlushPolicy
from omnimeter.streams.ingest import IngestConfig, IngestStage
from omnimeter.streams.metrics import WorkerMetrics
from tests.unit.streams.test_flush import NOW, FakeDeadLetters, FakeStore, event, record


def at(n: int, time: str) -> bytes:
    doc = json.loads(event(n))
    doc["time"] = time
    return json.dumps(doc).encode()


def stage_over(store: FakeStore, **kw: object) -> IngestStage:
    async def no_sleep(_s: float) -> None:
        await asyncio.sleep(0)

    flush = Flush(store, FakeDeadLetters(), FlushPolicy(), sleep=no_sleep)
    config = IngestConfig(batch_max_events=1000, flush_interval_s=60)
    return IngestStage(flush, config, WorkerMetrics(CollectorRegistry()), clock=lambda: NOW, backoff=(0.0, 0.0), **kw)  # type: ignore[arg-type]


class FlakyLookups(FakeStore):
    """The dedupe look-up fails `fail_lookups` times (the store away during step 2)."""

    def __init__(self, fail_lookups: int, log: list[str]) -> None:
        super().__init__(log=log)
        self.fail_lookups = fail_lookups

    def stored_keys(self, keys: Iterable[DedupeKey], since: datetime) -> set[DedupeKey]:
        if self.fail_lookups:
            self.fail_lookups -= 1
            raise SinkUnavailable("look-up failed: store down")
        return super().stored_keys(keys, since)


def test_a_failed_flush_is_flushed_again_and_the_stage_goes_on() -> None:
    log: list[str] = []
    store = FlakyLookups(3, log)
    stage = stage_over(store)

    async def run() -> None:
        await stage.add(record(0, event(0), log))
        await stage.add(record(1, event(1), log))
        assert (await stage.flush()).stored == 2
        await stage.add(record(2, event(2), log))  # the stage was not poisoned
        assert (await stage.flush()).stored == 1

    asyncio.run(run())
    assert stage.failed_flushes == 3
    assert sorted(r["event_id"] for r in store.rows(RAW_EVENTS.name)) == ["evt-0", "evt-1", "evt-2"]
    assert store.rows("duplicate_events") == []
    assert log[-4:] == ["ack 0:0", "ack 0:1", "inserted", "ack 0:2"]


class Refusing(FakeStore):
    def __init__(self, error: Exception, log: list[str], only: str = "") -> None:
        super().__init__(log=log)
        self.error, self.only = error, only

    def insert(self, blocks: Sequence[TableRows]) -> None:
        for b in blocks:
            if not self.only or (b.table == RAW_EVENTS.name and any(self.only in str(r) for r in b.rows)):
                self.attempts.append([b.token])
                raise self.error
        super().insert(blocks)


def test_a_permanent_error_stops_the_stage_without_acking() -> None:
    log: list[str] = []
    fatal: list[BaseException] = []
    store = Refusing(SinkPermanent("insert into raw_events failed: Code: 516. bad password; check the URL"), log)
    stage = stage_over(store, on_fatal=fatal.append)

    async def run() -> None:
        await stage.add(record(0, event(0), log))
        result = await stage.flush()
        assert not result.complete
        await stage.add(record(1, event(1), log))  # not taken any more

    asyncio.run(run())
    assert len(fatal) == 1 and "check the URL" in str(fatal[0])
    assert not [x for x in log if x.startswith("ack")]
    assert len(store.attempts) == 1  # not retried


def test_stop_ends_within_its_grace_period_while_the_store_is_down() -> None:
    log: list[str] = []
    store = FakeStore(fail=10**9, log=log)  # never comes back
    stopped: list[bool] = []

    async def sleep(s: float) -> None:
        await asyncio.sleep(0.01)

    flush = Flush(store, FakeDeadLetters(), FlushPolicy(), sleep=sleep)
    config = IngestConfig(batch_max_events=2, flush_interval_s=60)
    metrics = WorkerMetrics(CollectorRegistry())
    stage = IngestStage(flush, config, metrics, clock=lambda: NOW, on_stop=lambda: stopped.append(True))

    async def run() -> float:
        for o in range(3):  # a batch of 2 in flight, retrying; one record pending
            await stage.add(record(o, event(o), log))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await stage.stop(grace_s=0.3)
        return time.monotonic() - started

    took = asyncio.run(run())
    assert took < 1.0
    assert stopped == [True]
    assert not [x for x in log if x.startswith("ack")]
    assert len(store.attempts) > 3


def test_stop_flushes_what_is_pending_when_the_store_answers() -> None:
    log: list[str] = []
    store = FakeStore(log=log)
    stage = stage_over(store)

    async def run() -> None:
        await stage.add(record(0, event(0), log))
        await stage.stop(grace_s=2)
        await stage.add(record(1, event(1), log))  # after stop: not taken

    asyncio.run(run())
    assert log == ["inserted", "ack 0:0"]


def test_one_part_per_partition_and_rows_out_of_their_column_range_are_quarantined() -> None:
    log: list[str] = []
    store = FakeStore(log=log)
    store.types = {RAW_EVENTS.name: {"event_time": "DateTime64(3, 'UTC')", "kafka_partition": "UInt32"}}
    stage = stage_over(store)
    months = [f"{2010 + m // 12}-{1 + m % 12:02d}-15T10:00:00Z" for m in range(150)]
    batch = json.dumps(
        [json.loads(at(m, t)) for m, t in enumerate(months)] + [json.loads(at(999, "1899-12-31T23:00:00Z"))]
    )

    async def run() -> None:
        await stage.add(record(0, batch.encode(), log))
        result = await stage.flush()
        assert (result.stored, result.rejected["store_refused"]) == (150, 1)

    asyncio.run(run())
    raw_tokens = [t for attempt in store.attempts for t in attempt if t.startswith("raw:")]
    assert len(raw_tokens) == 150 == len(set(raw_tokens))  # one insert per month, each with its own token
    assert len(store.rows(RAW_EVENTS.name)) == 150
    (rej,) = store.rows(REJECTED_EVENTS.name)
    assert (rej["event_id"], rej["reason"], rej["field"]) == ("evt-999", "store_refused", "event_time")
    assert "1899-12-31T23:00:00+00:00 outside 1900-01-01" in rej["detail"]
    assert log[-1] == "ack 0:0"


def test_an_event_the_engine_refuses_is_isolated_and_quarantined_after_a_few_tries() -> None:
    log: list[str] = []
    store = Refusing(SinkRefused("insert into raw_events failed: Code: 53. type mismatch", "raw_events"), log,
                     only="evt-7")  # fmt: skip
    stage = stage_over(store)

    async def run() -> None:
        for o in range(12):
            await stage.add(record(o, event(o), log))
        result = await stage.flush()
        assert (result.stored, result.rejected["store_refused"]) == (11, 1)

    asyncio.run(run())
    assert sorted(int(r["event_id"][4:]) for r in store.rows(RAW_EVENTS.name)) == [i for i in range(12) if i != 7]
    (rej,) = store.rows(REJECTED_EVENTS.name)
    assert (rej["event_id"], rej["reason"], rej["kafka_offset"]) == ("evt-7", "store_refused", 7)
    assert "Code: 53" in rej["detail"]
    assert [x for x in log if x.startswith("ack")] == [f"ack 0:{o}" for o in range(12)]


def test_a_dead_letter_too_large_for_one_request_is_truncated_with_a_header() -> None:
    from omnimeter.sinks.base import DeadLetter
    from omnimeter.streams.deadletter import H_TRUNCATED, fit

    small = DeadLetter(b"k", b"x" * 1000, [("omnimeter.dlq.reason", b"not_json")])
    assert fit(small, 1_000_000) is small
    big = DeadLetter(b"k", b"x" * 1_048_576, [("omnimeter.dlq.reason", b"oversized")])
    cut = fit(big, 1_000_000)
    headers = dict(cut.headers)
    assert headers[H_TRUNCATED] == b"1048576" and headers["omnimeter.dlq.reason"] == b"oversized"
    size = len(cut.key) + len(cut.value) + sum(len(k) + len(v) for k, v in cut.headers)
    assert 900_000 < size < 1_000_000
