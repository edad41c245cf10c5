"""Money depends only on the set of events and the books: for generated event sets, the cycle charges
per tenant, cycle and meter, both amounts, are identical under every permutation of the events and every
split of them into batches (each batch rated with state rebuilt from the lines before it, as the stream
does between flushes: tier usage and seats read back from what is stored).

WhatsApp events are left out until template decisions follow event time whatever the arrival order
(issue 14, item 2): their lines still depend on arrival order today."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from omnimeter.pricing.cycle_charges import CycleCharge, cycle_charges
from omnimeter.pricing.rating import BillableLine, MemoryState, Rater
from omnimeter.schemas.events import UsageEvent
from tests.reference.books import AT, DIRECTORY, book, books, call, event

TIERS = [{"up_to": 3, "unit": "1.00"}, {"up_to": 6, "unit": "0.80", "flat": "2"}, {"unit": "0.50"}]
PRICES = {
    "sms.outbound.segments": {"model": "volume", "tiers": TIERS},
    "voice.outbound.seconds": {"model": "graduated", "per": 60, "tiers": TIERS, "connection_fee": "0.05"},
    "email.outbound.messages": {"model": "package", "package_size": 4, "package_price": "1.00"},
    "seats.active.agent": {"unit": "20.00", "minimum": "30.00"},
}
RETAIL = {**PRICES, "sms.outbound.segments": {"model": "graduated", "tiers": TIERS}}
BOOKS = books(book("direct", PRICES), book("wholesale", PRICES, {"voice_increment": "1/1"}), book("retail", RETAIL))


def make(kind: int, n: int, tenant: str, day: int, size: int) -> UsageEvent:
    at = AT + timedelta(days=day)  # two cycles: days 0-20 and 21+ cross the 1st of the month
    if kind == 0:
        data = {"channel": "sms", "account": "+1", "contact": "+2", "sender_kind": "operator", "body": "x" * size}
        return event(tenant, "message.sent", data, n, at)
    if kind == 1:
        return call(tenant, size, answered=n % 5 != 0, n=n).model_copy(update={"time": at})
    if kind == 2:
        return event(tenant, "seat.active", {"user_id": f"u{size % 4}", "role": "agent"}, n, at)
    data = {"channel": "email", "account": "a@x", "contact": "b@y", "sender_kind": "system"}
    return event(tenant, "message.sent", data, n, at)


EVENTS = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["direct", "sub"]), st.sampled_from([0, 1, 25]), st.integers(0, 500)),
    min_size=1,
    max_size=40,
).map(lambda specs: [make(k, i, t, d, size) for i, (k, t, d, size) in enumerate(specs)])


def rate_in_batches(events: list[UsageEvent], cuts: list[int]) -> list[BillableLine]:
    lines: list[BillableLine] = []
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    for lo, hi in itertools.pairwise(bounds):
        state = MemoryState()  # what a stream worker reads back from billable_lines at a flush
        for ln in lines:
            if not ln.free_reason:
                if ln.quantity > 0:
                    state.add_used(ln.tenant_id, ln.cycle_start, ln.meter, ln.quantity)
                if ln.quantity_platform > 0:
                    state.add_used(ln.tenant_id, ln.cycle_start, ln.meter, ln.quantity_platform, platform=True)
            if ln.meter.startswith("seats."):
                state.count_seat(ln.tenant_id, ln.cycle_start, ln.meter, ln.user_id)
        rater = Rater(BOOKS, DIRECTORY, state)
        lines += [ln for e in events[lo:hi] for ln in rater.rate(e)]
    return lines


def money(charges: list[CycleCharge]) -> dict[tuple[str, object, str], tuple[Decimal, Decimal | None]]:
    return {
        (c.tenant_id, c.cycle_start, c.meter): (c.platform.charge, c.reseller.charge if c.reseller else None)
        for c in charges
    }


@settings(max_examples=150, deadline=None)
@given(EVENTS, st.randoms(use_true_random=False), st.lists(st.integers(0, 40), max_size=4))
def test_cycle_charges_do_not_depend_on_order_or_batches(events: list[UsageEvent], rnd, cuts: list[int]) -> None:  # type: ignore[no-untyped-def]
    expected = money(cycle_charges(rate_in_batches(events, []), BOOKS))
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert money(cycle_charges(rate_in_batches(shuffled, cuts), BOOKS)) == expected
