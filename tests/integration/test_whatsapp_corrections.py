"""The rate stage's WhatsApp corrections against the real engine (chdb): decisions stored by one flush are
read back by a later one (also by a restarted worker) and corrected by appending lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from omnimeter.pricing.books import PriceBooks
from omnimeter.pricing.rating import BillableLine
from omnimeter.pricing.units import window_step
from omnimeter.pricing.whatsapp import WindowState
from omnimeter.schemas.directory import Directory
from omnimeter.schemas.events import UsageEvent
from omnimeter.sinks.clickhouse import ClickHouseStore, connect
from omnimeter.sinks.tables import BILLABLE_LINES
from omnimeter.streams.rate import RateStage
from omnimeter.streams.records import ConsumedRecord
from tests.reference.books import DIRECTORY, book, books, event

pytestmark = pytest.mark.integration
BOOKS = books(book("direct", {"whatsapp.template.marketing": {"unit": "0.0250"}}))
AT = datetime(2026, 11, 10, 10, tzinfo=UTC)
H = timedelta(hours=1)


@dataclass
class Reference:
    books: PriceBooks
    directory: Directory


class CountingStore:
    """The real store, counting the decision look-ups."""

    def __init__(self, store: ClickHouseStore) -> None:
        self.store, self.lookups = store, 0

    def window_decisions(self, keys: Any, since: datetime) -> list[BillableLine]:
        self.lookups += 1
        return self.store.window_decisions(keys, since)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = connect(f"chdb://{tmp_path / 'ch'}", "omnimeter_test")
    yield s
    s.close()


def chat(contact: str) -> dict[str, str]:
    return {"channel": "whatsapp", "account": "+1555", "contact": contact}


def template(n: int, contact: str, at: datetime) -> UsageEvent:
    data = {**chat(contact), "sender_kind": "system", "message_id": f"m{n}",
            "template": {"name": "promo", "category": "marketing"}}  # fmt: skip
    return event("direct", "message.delivered", data, n, at)


def ad(n: int, contact: str, at: datetime) -> UsageEvent:
    return event("direct", "message.received", {**chat(contact), "entry_point": "ctwa_ad"}, n, at)


class Worker:
    """A rate stage with the agent's window table (a dict) and flushes that store their rows."""

    def __init__(self, store: CountingStore, windows: dict[tuple[str, str, str], WindowState]) -> None:
        self.store, self.windows = store, windows
        self.stage = RateStage(Reference(BOOKS, DIRECTORY), store, windows.get)  # type: ignore[arg-type]
        self.offset = 0

    def flush(self, events: list[UsageEvent]) -> list[BillableLine]:
        for e in events:  # observed on arrival, before the flush
            step = window_step(e, self.windows.get)
            if step is not None:
                self.windows[step[0]] = step[1]
        items = []
        for e in events:
            self.offset += 1
            items.append((ConsumedRecord("usage", 0, self.offset, None), 0, e))
        rows = self.stage.rate(items, AT)
        self.store.write([BILLABLE_LINES.block(rows, f"lines-{self.offset}")])
        return [BillableLine(*r[: len(BillableLine._fields)]) for r in rows]


def test_a_late_ad_message_corrects_a_template_stored_by_an_earlier_flush(store: ClickHouseStore) -> None:
    counting = CountingStore(store)
    windows: dict[tuple[str, str, str], WindowState] = {}
    w = Worker(counting, windows)
    (first,) = [ln for ln in w.flush([template(1, "+1", AT)]) if ln.meter.startswith("whatsapp.template.")]
    assert first.amount_platform == Decimal("0.025") and first.conversation == "+1"
    lines = w.flush([ad(2, "+1", AT - H)])
    reversal, corrected = [ln for ln in lines if ln.corrects_line_id]
    assert reversal.amount_platform == Decimal("-0.025") and reversal.quantity == -1
    assert (corrected.free_reason, corrected.amount_platform, corrected.corrects_line_id) == (
        "free_entry_point", 0, "ref/e1/1",
    )  # fmt: skip
    assert counting.lookups == 1  # read back from the store, in one query
    assert w.stage.corrections == 1

    # a restarted worker (empty caches, same window table) reads the corrected decision back: a second
    # late ad message changes nothing
    w2 = Worker(counting, windows)
    w2.offset = w.offset
    assert not [ln for ln in w2.flush([ad(3, "+1", AT - 2 * H)]) if ln.corrects_line_id]
    assert counting.lookups == 2
    net = store.query_rows(
        f"SELECT sum(amount_platform), sum(quantity) FROM {store.db}.billable_lines "
        "WHERE meter = 'whatsapp.template.marketing'"
    )
    assert net == [(Decimal(0), Decimal(1))]


def test_a_late_message_and_its_template_in_one_batch_need_no_look_up(store: ClickHouseStore) -> None:
    counting = CountingStore(store)
    w = Worker(counting, {})
    lines = w.flush([template(1, "+2", AT), ad(2, "+2", AT - H)])  # the batch holds both: decided on both
    assert not [ln for ln in lines if ln.corrects_line_id]
    assert [ln.free_reason for ln in lines if ln.meter.startswith("whatsapp.template.")] == ["free_entry_point"]
    assert counting.lookups == 0


def test_conversations_turning_late_while_a_flush_rates_are_read_in_one_query(store: ClickHouseStore) -> None:
    """The agent goes on observing records while a flush rates (in a thread): conversations of the flush
    turn late after the flush looked. Their stored decisions are read in one query, not one per
    conversation (the bench measured ~1,900 single-conversation look-ups in 200k events)."""
    counting = CountingStore(store)
    windows: dict[tuple[str, str, str], WindowState] = {}
    w = Worker(counting, windows)
    stored = [ln for ln in w.flush([template(1, "+5", AT)]) if ln.meter.startswith("whatsapp.template.")]
    assert [ln.amount_platform for ln in stored] == [Decimal("0.025")]
    arriving = [template(10 + i, c, AT + H) for i, c in enumerate(("+3", "+4"))]
    reads = [0]

    def read_while_records_arrive(key: tuple[str, str, str]) -> WindowState | None:
        reads[0] += 1  # the flush's first look is one read per message: the next records arrive after it
        while reads[0] > 3 and arriving:  # observed by the agent while the flush rates
            e = arriving.pop()
            step = window_step(e, windows.get)
            if step is not None:
                windows[step[0]] = step[1]
        return windows.get(key)

    w.stage.state.windows = read_while_records_arrive
    before = counting.lookups
    lines = w.flush([ad(20, "+3", AT), ad(21, "+4", AT), ad(22, "+5", AT - H)])
    assert counting.lookups - before == 2  # _read_decisions for +5, then +3 and +4 together
    # +5's stored template is corrected (the ad opened a free window before it); +3 and +4 have no
    # decisions stored: their templates are rated in a later flush, as they would be without the race
    assert [(ln.conversation, ln.amount_platform) for ln in lines if ln.corrects_line_id] == [
        ("+5", Decimal("-0.025")), ("+5", Decimal(0)),
    ]  # fmt: skip


class _Agent:
    """The agent observing records while a flush rates: `before` just before rating event `at_id`, `after`
    right after that event's rating first read the conversation's window (the faults hook and the
    window read stand in for the agent's thread)."""

    def __init__(self, windows: dict[tuple[str, str, str], WindowState], at_id: str) -> None:
        self.windows, self.at_id = windows, at_id
        self.before: list[UsageEvent] = []
        self.after: list[UsageEvent] = []
        self.armed = False

    def observe(self, events: list[UsageEvent]) -> None:
        for e in events:
            step = window_step(e, self.windows.get)
            if step is not None:
                self.windows[step[0]] = step[1]

    def before_rating(self, event_id: str) -> None:
        if event_id == self.at_id:
            self.observe(self.before)
            self.armed = True

    def read(self, key: tuple[str, str, str]) -> WindowState | None:
        state = self.windows.get(key)
        if self.armed:
            self.armed = False
            self.observe(self.after)
        return state

    def __getattr__(self, name: str) -> Any:  # the other fault hooks: none
        return lambda *a, **k: None


def test_decisions_are_read_back_to_the_floor_of_the_state_rating_read(store: ClickHouseStore) -> None:
    """Found by a red-team session: the agent moved a conversation's floor on between the rater's read of
    its window and the decisions' read, which then started at the later floor and missed a stored
    decision that the rater's state can still change."""
    counting = CountingStore(store)
    windows: dict[tuple[str, str, str], WindowState] = {}
    w = Worker(counting, windows)
    (stored,) = [ln for ln in w.flush([template(1, "+6", AT + 100 * H)]) if ln.meter.startswith("whatsapp.template.")]
    assert stored.amount_platform == Decimal("0.025")  # charged: no window open
    answer = template(3, "+6", AT + 95 * H)  # the business answers an ad 1 h after it: a free-entry-point window
    agent = _Agent(windows, answer.id)
    agent.before = [ad(2, "+6", AT + 94 * H)]  # arrives just before the answer is rated
    agent.after = [event("direct", "message.received", chat("+6"), 4, AT + 200 * H)]  # the floor moves to +128 h
    w.stage = RateStage(Reference(BOOKS, DIRECTORY), counting, agent.read, faults=agent)  # type: ignore[arg-type]
    lines = w.flush([event("direct", "message.received", chat("+7"), 5, AT), answer])
    corrected = [(ln.event_id, ln.amount_platform, ln.free_reason) for ln in lines if ln.corrects_line_id]
    assert corrected == [("e1", Decimal("-0.025"), ""), ("e1", Decimal(0), "free_entry_point")]
