"""Voice: billable seconds under X/Y increments, per direction, and which attempts are charged.

Sources:
- The X/Y billing-increment convention of voice rate decks: the first X seconds are billed once a call
  connects, then steps of Y seconds (60/60 is per-minute billing, "rounded up to the next minute" as
  Twilio bills Programmable Voice; 1/1 is per-second; 60/6 and 30/6 are common wholesale increments).
  DESIGN.md section 3: billable = X if 0 < d <= X, else X + ceil((d - X) / Y) * Y.
- Twilio Voice pricing FAQ: calls that are not answered (busy, no-answer, failed) are not billed.
Every expected amount below is computed by hand: rate per minute x billable seconds / 60.
"""

from __future__ import annotations

from decimal import Decimal as D

from tests.reference.books import book, books, by_meter, call, rate

PER_MINUTE = {
    "voice.outbound.seconds": {"unit": "0.60", "per": 60},
    "voice.inbound.seconds": {"unit": "0.60", "per": 60},
    "voice.calls": {"unit": "0.01"},
}


def seconds_and_amount(lines: list, meter: str) -> tuple[D, D]:  # type: ignore[type-arg]
    (ln,) = by_meter(lines)[meter]
    return ln.quantity, ln.amount_platform


def test_increments_60_60_1_1_60_6_30_6_on_a_61_second_call() -> None:
    for increment, billable, amount in (("60/60", 120, "1.20"), ("1/1", 61, "0.61"), ("60/6", 66, "0.66"),
                                        ("30/6", 66, "0.66")):  # fmt: skip
        b = books(book("direct", PER_MINUTE, {"voice_increment": increment}))
        assert seconds_and_amount(rate([call("direct", 61)], b), "voice.outbound.seconds") == (D(billable), D(amount))
    b = books(book("direct", PER_MINUTE, {"voice_increment": "30/6"}))
    assert seconds_and_amount(rate([call("direct", 10)], b), "voice.outbound.seconds") == (D(30), D("0.30"))
    assert seconds_and_amount(rate([call("direct", 31)], b), "voice.outbound.seconds") == (D(36), D("0.36"))


def test_increments_per_direction_in_one_book() -> None:
    b = books(book("direct", PER_MINUTE, {"voice_increments": {"outbound": "60/6", "inbound": "1/1"}}))
    assert seconds_and_amount(rate([call("direct", 61, "outbound")], b), "voice.outbound.seconds") == (D(66), D("0.66"))
    assert seconds_and_amount(rate([call("direct", 61, "inbound")], b), "voice.inbound.seconds") == (D(61), D("0.61"))


def test_only_connected_calls_are_charged() -> None:
    b = books(book("direct", PER_MINUTE, {"voice_increment": "60/60"}))
    lines = by_meter(rate([call("direct", 0, n=1), call("direct", 0, answered=False, n=2), call("direct", 5, n=3)], b))
    calls = [(ln.event_id, ln.amount_platform, ln.free_reason) for ln in lines["voice.calls"]]
    assert calls == [("e1", D(0), "zero_duration"), ("e2", D(0), "unanswered"), ("e3", D("0.01"), "")]
    secs = [(ln.event_id, ln.quantity, ln.free_reason) for ln in lines["voice.outbound.seconds"]]
    assert secs == [("e1", D(0), "zero_duration"), ("e2", D(0), "unanswered"), ("e3", D(60), "")]


def test_each_amount_under_its_own_books_settings() -> None:
    """A reseller's tenant: the wholesale book bills 1/1, the retail book 60/60. A 61 s call costs the
    reseller 61 s x 0.60/min = 0.61 (price to platform) and the tenant 2 min x 1.00 = 2.00."""
    b = books(
        book("wholesale", {"voice.outbound.seconds": {"unit": "0.60", "per": 60}}, {"voice_increment": "1/1"}),
        book("retail", {"voice.outbound.seconds": {"unit": "1.00", "per": 60}}, {"voice_increment": "60/60"}),
    )
    (ln,) = by_meter(rate([call("sub", 61)], b))["voice.outbound.seconds"]
    assert (ln.quantity_platform, ln.amount_platform) == (D(61), D("0.610000"))
    assert (ln.quantity, ln.amount_reseller) == (D(120), D("2.000000"))
