"""Per-event isolation in the rate step: an event whose rating raises is dead-lettered `rating_failed`
with the exception's message, its state changes are undone, and the rest of its batch is stored and rated."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from prometheus_client import CollectorRegistry

from omnimeter.faults import Faults
from omnimeter.pricing.books import PriceBooks, parse_price_books
from omnimeter.schemas.directory import Directory, parse_directory
from omnimeter.sinks.tables import BILLABLE_LINES, RAW_EVENTS, REJECTED_EVENTS
from omnimeter.streams.flush import Flush, FlushPolicy
from omnimeter.streams.ingest import IngestConfig, IngestStage
from omnimeter.streams.metrics import WorkerMetrics
from omnimeter.streams.rate import RateStage, StoredRatingState
from tests.integration.rating_check import REF
from tests.unit.streams.test_flush import NOW, FakeDeadLetters, FakeStore, record


@dataclass
class Reference:
    directory: Directory
    books: PriceBooks


class Usage:
    def cycle_usage(self, tenant: str, cycle: date) -> dict[str, tuple[Decimal, Decimal]]:
        return {}

    def cycle_seats(self, tenant: str, cycle: date) -> set[tuple[str, str]]:
        return set()


def sms(n: int, body: str = "hello") -> dict[str, object]:
    return {
        "specversion": "1.0", "id": f"evt-{n}", "source": "sms-gateway", "type": "message.sent",
        "time": "2026-11-22T11:00:00Z", "subject": "tenant-001", "datacontenttype": "application/json",
        "data": {"channel": "sms", "account": "+15550001", "contact": "+573001234567", "sender_kind": "operator",
                 "body": body, "country": "CO"},
    }  # fmt: skip


def stage(store: FakeStore, faults: Faults) -> tuple[IngestStage, FakeDeadLetters, RateStage]:
    reference = Reference(
        parse_directory((REF / "directory.yaml").read_text()), parse_price_books((REF / "prices.yaml").read_text())
    )
    rating = RateStage(reference, Usage(), lambda key: None, faults)  # type: ignore[arg-type]
    letters = FakeDeadLetters()
    flush = Flush(store, letters, FlushPolicy(), rating=rating)
    config = IngestConfig(batch_max_events=1000, flush_interval_s=60)
    return IngestStage(flush, config, WorkerMetrics(CollectorRegistry()), clock=lambda: NOW), letters, rating


def test_an_event_whose_rating_raises_is_dead_lettered_and_its_batch_goes_on() -> None:
    log: list[str] = []
    store = FakeStore(log=log)
    ingest, letters, _ = stage(store, Faults("fail_rating=evt-bad"))
    batch = json.dumps([sms(1), {**sms(2), "id": "evt-bad-2"}, sms(3)]).encode()

    async def run() -> None:
        await ingest.add(record(0, json.dumps(sms(0)).encode(), log))
        await ingest.add(record(1, batch, log))
        await ingest.add(record(2, json.dumps({**sms(4), "id": "evt-bad-4"}).encode(), log))
        result = await ingest.flush()
        assert (result.stored, result.rejected["rating_failed"]) == (3, 2)

    asyncio.run(run())
    stored = sorted(r["event_id"] for r in store.rows(RAW_EVENTS.name))
    assert stored == ["evt-0", "evt-1", "evt-3"]
    rated = {r["event_id"] for r in store.rows(BILLABLE_LINES.name)}
    assert rated == {"evt-0", "evt-1", "evt-3"}
    rejected = {r["event_id"]: r for r in store.rows(REJECTED_EVENTS.name)}
    assert set(rejected) == {"evt-bad-2", "evt-bad-4"}
    assert rejected["evt-bad-2"]["reason"] == "rating_failed"
    assert rejected["evt-bad-2"]["detail"] == (
        "rating event evt-bad-2 raised RatingFault: injected fault: rating evt-bad-2 raises"
    )
    assert (rejected["evt-bad-2"]["kafka_offset"], rejected["evt-bad-2"]["batch_index"]) == (1, 1)
    assert json.loads(rejected["evt-bad-2"]["raw"])["id"] == "evt-bad-2"  # the element's own bytes
    assert json.loads(rejected["evt-bad-4"]["raw"])["id"] == "evt-bad-4"
    reasons = sorted(dict(dl.headers)["omnimeter.dlq.reason"] for dl in letters.letters)
    assert reasons == [b"rating_failed", b"rating_failed"]
    assert log[-3:] == ["ack 0:0", "ack 0:1", "ack 0:2"]  # every record acked: nothing blocks


def test_a_failed_rating_leaves_the_cycle_state_as_it_was() -> None:
    state = StoredRatingState(Usage(), lambda key: None)
    cycle = date(2026, 11, 1)
    state.add_used("t", cycle, "sms.outbound.segments", Decimal(2))
    try:
        with state.atomic():
            state.add_used("t", cycle, "sms.outbound.segments", Decimal(5))
            state.add_used("t", cycle, "voice.calls", Decimal(1), platform=True)
            state.count_seat("t", cycle, "seats.active.agent", "u1")
            raise OverflowError("boom")
    except OverflowError:
        pass
    assert state.used("t", cycle, "sms.outbound.segments") == Decimal(2)
    assert state.used("t", cycle, "voice.calls", platform=True) == Decimal(0)
    assert not state.seat_counted("t", cycle, "seats.active.agent", "u1")
    with state.atomic():
        state.count_seat("t", cycle, "seats.active.agent", "u1")
    assert state.seat_counted("t", cycle, "seats.active.agent", "u1")
