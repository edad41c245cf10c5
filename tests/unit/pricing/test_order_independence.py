"""Money depends only on the set of events and the books: for generated event sets, the cycle charges
per tenant, cycle and meter, both amounts, are identical under every permutation of the events and every
split of them into batches (each batch rated with state rebuilt from the lines before it, as the stream
does between flushes: tier usage, seats and WhatsApp decisions read back from what is stored, window
states kept across batches and holding every event of a batch before it is rated, as the agent observes
records on arrival).

WhatsApp events (customer and click-to-WhatsApp messages, templates, service replies) are timed within
60 h of each other, inside the window horizon (72 h), across a change of WhatsApp rules (a book version
from day 1 on charges service messages and utility templates inside the customer-service window): a
message that arrives after the messages it decides otherwise corrects them (reversal and corrected line),
so the charges are the same in every order."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from omnimeter.pricing.cycle_charges import cycle_charges, cycle_costs
from omnimeter.pricing.rating import BillableLine, MemoryState, Rater, decisions_from_lines, rate_all
from omnimeter.pricing.whatsapp import WindowState
from omnimeter.schemas.events import UsageEvent
from tests.reference.books import AT, DIRECTORY, book, books, call, event

TIERS = [{"up_to": 3, "unit": "1.00"}, {"up_to": 6, "unit": "0.80", "flat": "2"}, {"unit": "0.50"}]
PRICES = {
    "sms.outbound.segments": {"model": "volume", "tiers": TIERS},
    "voice.outbound.seconds": {"model": "graduated", "per": 60, "tiers": TIERS, "connection_fee": "0.05"},
    "email.outbound.messages": {"model": "package", "package_size": 4, "package_price": "1.00"},
    "seats.active.agent": {"unit": "20.00", "minimum": "30.00"},
}
WA_TIERS = [{"up_to": 2, "unit": "0.02"}, {"unit": "0.01"}]
PRICES |= {
    "whatsapp.template.marketing": {"unit": "0.0250"},
    "whatsapp.template.utility": {"model": "volume", "tiers": WA_TIERS},
    "whatsapp.template.authentication": {"unit": "0.0135"},
    "whatsapp.service.messages": {"model": "graduated", "tiers": WA_TIERS},
}
RETAIL = {**PRICES, "sms.outbound.segments": {"model": "graduated", "tiers": TIERS},
          "whatsapp.template.marketing": {"model": "package", "package_size": 2, "package_price": "0.04"}}  # fmt: skip
RULES_2026_10 = {"whatsapp": {"free_in_service_window": [], "charge_service_messages": True}}
SWITCH = (AT + timedelta(days=1)).isoformat()
RETAIL_SWITCH = (AT + timedelta(days=2)).isoformat()  # on day 1 the wholesale and retail rules differ


def versions(
    audience: str, prices: dict[str, object], billing: dict[str, object], switch: str = SWITCH
) -> list[dict[str, object]]:
    """A book under the 2025-07-01 WhatsApp rules, and its version from `switch` under the 2026-10-01 rules."""
    first = book(audience, prices, billing)
    return [first, {**first, "version": "2", "effective_from": switch, "billing": {**billing, **RULES_2026_10}}]


BOOKS = books(
    *versions("direct", PRICES, {}), *versions("wholesale", PRICES, {"voice_increment": "1/1"}),
    *versions("retail", RETAIL, {}, RETAIL_SWITCH),
    # suppliers: Meta on the 2025-07-01 rules throughout (volume tiers for utility), an SMS aggregator
    # (priced in volume tiers), a carrier billing 6/6 (different settings from every price book above)
    book("cost", {"whatsapp.template.utility": {"model": "volume", "tiers": WA_TIERS},
                  "whatsapp.template.marketing": {"unit": "0.0200"}}, party="meta"),
    book("cost", {"sms.outbound.segments": {"model": "volume", "tiers": TIERS}}, {"sms_billed_on": "sent"},
         party="aggregator"),
    book("cost", {"voice.outbound.seconds": {"unit": "0.60", "per": 60}}, {"voice_increment": "6/6"}, party="carrier"),
)  # fmt: skip


def make(kind: int, n: int, tenant: str, day: int, size: int) -> UsageEvent:
    at = AT + timedelta(days=day)  # two cycles: days 0-20 and 21+ cross the 1st of the month
    if kind == 0:
        data = {"channel": "sms", "account": "+1", "contact": "+2", "sender_kind": "operator", "body": "x" * size}
        return event(tenant, "message.sent", data, n, at)
    if kind == 1:
        return call(tenant, size, answered=n % 5 != 0, n=n).model_copy(update={"time": at})
    if kind == 2:
        return event(tenant, "seat.active", {"user_id": f"u{size % 4}", "role": "agent"}, n, at)
    if kind == 4:
        return whatsapp(n, tenant, size, size % 61)
    data = {"channel": "email", "account": "a@x", "contact": "b@y", "sender_kind": "system"}
    return event(tenant, "message.sent", data, n, at)


def whatsapp(n: int, tenant: str, size: int, hour: int) -> UsageEvent:
    """A message of one of two conversations, `hour` hours after AT."""
    at = AT + timedelta(hours=hour)
    chat = {"channel": "whatsapp", "account": "+5215550001", "contact": f"+52155599{(size // 6) % 2}"}
    what = size % 6
    if what == 0:
        return event(tenant, "message.received", chat, n, at)
    if what == 1:
        return event(tenant, "message.received", {**chat, "entry_point": "ctwa_ad"}, n, at)
    out = {**chat, "sender_kind": "operator", "message_id": f"m{n}"}
    if what < 5:
        category = ("marketing", "utility", "authentication")[what - 2]
        out = {**out, "sender_kind": "system", "template": {"name": "t", "category": category}}
    return event(tenant, "message.delivered", out, n, at)


SPECS = st.lists(
    st.tuples(st.integers(0, 4), st.sampled_from(["direct", "sub"]), st.sampled_from([0, 1, 25]), st.integers(0, 500)),
    max_size=30,
)
# WhatsApp messages: (tenant, kind and conversation, hours after AT inside the window horizon)
CHATS = st.lists(st.tuples(st.sampled_from(["direct", "sub"]), st.integers(0, 11), st.integers(0, 60)), max_size=14)
EVENTS = (
    st.tuples(SPECS, CHATS)
    .map(
        lambda specs: (
            [make(k, i, t, d, size) for i, (k, t, d, size) in enumerate(specs[0])]
            + [whatsapp(1000 + i, t, size, h) for i, (t, size, h) in enumerate(specs[1])]
        )
    )
    .filter(bool)
)


def rate_in_batches(events: list[UsageEvent], cuts: list[int]) -> list[BillableLine]:
    lines: list[BillableLine] = []
    windows: dict[tuple[str, str, str], WindowState] = {}  # the agent's window table, across flushes
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    for lo, hi in itertools.pairwise(bounds):
        state = MemoryState()  # what a stream worker reads back from billable_lines at a flush
        state.windows = windows
        for ln in lines:
            if not ln.free_reason:  # reversals (negative quantities) count too
                state.add_used(ln.tenant_id, ln.cycle_start, ln.meter, ln.quantity)
            if not ln.free_reason_platform:
                state.add_used(ln.tenant_id, ln.cycle_start, ln.meter, ln.quantity_platform, platform=True)
            if ln.meter.startswith("seats."):
                state.count_seat(ln.tenant_id, ln.cycle_start, ln.meter, ln.user_id)
        state.decided = decisions_from_lines(lines)
        rater = Rater(BOOKS, DIRECTORY, state)
        for e in events[lo:hi]:  # the batch's records arrived (and were observed) before the flush
            rater.observe(e)
        lines += [ln for e in events[lo:hi] for ln in rater.rate(e)]
    return lines


def money(lines: list[BillableLine]) -> dict[tuple[str, object, str], tuple[Decimal, Decimal | None, Decimal]]:
    """Both prices and the cost of every (tenant, cycle, meter), as cycle charges."""
    costs = {(c.tenant_id, c.cycle_start, c.meter): c.cost.charge for c in cycle_costs(lines, BOOKS)}
    return {
        (c.tenant_id, c.cycle_start, c.meter): (
            c.platform.charge, c.reseller.charge if c.reseller else None, costs.get((c.tenant_id, c.cycle_start,
                                                                                    c.meter), Decimal(0)),
        )
        for c in cycle_charges(lines, BOOKS)
    }  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(EVENTS, st.randoms(use_true_random=False), st.lists(st.integers(0, 40), max_size=4))
def test_cycle_charges_do_not_depend_on_order_or_batches(events: list[UsageEvent], rnd, cuts: list[int]) -> None:  # type: ignore[no-untyped-def]
    expected = money(rate_in_batches(events, []))
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert money(rate_in_batches(shuffled, cuts)) == expected
    # offline `omnimeter rate`: one rater, each event rated as it comes (no window seen before its event)
    assert money(rate_all(shuffled, BOOKS, DIRECTORY)) == expected
