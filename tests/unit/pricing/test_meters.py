"""The closed meter vocabulary: producer values map onto it, unpriced billable usage is marked and counted
(never a silent 0), and a per-tenant price table overrides only the meters it names."""

from __future__ import annotations

import json
from decimal import Decimal as D

from omnimeter.pricing.meters import SEAT_OTHER, UNPRICED, is_billable, is_meter
from omnimeter.pricing.rating import MemoryState, Rater
from omnimeter.schemas.parse import Rejection, parse_record
from tests.reference.books import AT, DIRECTORY, book, books, call, event


def seat(role: str, user: str = "u1") -> object:
    return event("direct", "seat.active", {"user_id": user, "role": role})


def test_vocabulary() -> None:
    assert is_meter("sms.outbound.segments") and is_meter("seats.active.team_lead") and is_meter("voice.calls")
    assert not is_meter("teleport.minutes") and not is_meter("seats.active.Team-Lead")
    assert is_billable("video.minutes") and is_billable("seats.active.agent") and not is_billable("sms.outbound.sent")


def test_a_seat_role_nobody_names_counts_as_other() -> None:
    b = books(book("direct", {"seats.active.agent": {"unit": "10"}, SEAT_OTHER: {"unit": "5"}}))
    rater = Rater(b, DIRECTORY, MemoryState())
    (agent,) = rater.rate(seat("agent"))  # type: ignore[arg-type]
    (odd,) = rater.rate(seat("<script>", user="u2"))  # type: ignore[arg-type]
    assert (agent.meter, agent.amount_platform) == ("seats.active.agent", D("10.000000"))
    assert (odd.meter, odd.amount_platform) == (SEAT_OTHER, D("5.000000"))


def test_unpriced_billable_usage_is_marked_and_counted_counts_are_not() -> None:
    b = books(book("direct", {"voice.inbound.seconds": {"unit": "0.01"}}))
    rater = Rater(b, DIRECTORY, MemoryState())
    lines = {ln.meter: ln for ln in rater.rate(call("direct", 61))}
    assert (
        lines["voice.outbound.seconds"].free_reason == UNPRICED and lines["voice.outbound.seconds"].amount_platform == 0
    )
    assert lines["voice.calls"].free_reason == ""  # a count: unpriced is normal
    assert rater.unpriced == {("voice.outbound.seconds", "platform"): 1}


def test_a_tenant_price_table_overrides_only_what_it_names() -> None:
    general = book("direct", {"voice.outbound.seconds": {"unit": "0.60", "per": 60}, "video.minutes": {"unit": "0.1"}})
    table = book("direct", {"voice.outbound.seconds": {"unit": "0.30", "per": 60}}, tenants=["direct"], id="contract")
    b = books(general, table)
    rater = Rater(b, DIRECTORY, MemoryState())
    (secs, _calls) = rater.rate(call("direct", 60))
    (video,) = rater.rate(event("direct", "video_call.completed", {"duration_s": 120}, 9))
    assert (secs.amount_platform, secs.book_platform) == (D("0.300000"), "contract@1")
    assert (video.amount_platform, video.book_platform) == (D("0.200000"), "direct-platform@1")
    assert rater.unpriced == {}


def test_an_unknown_provider_category_is_dead_lettered() -> None:
    env = {"specversion": "1.0", "id": "w1", "source": "wa", "type": "message.delivered", "time": AT.isoformat(),
           "subject": "direct", "data": {"channel": "whatsapp", "account": "+1", "contact": "+2", "message_id": "m",
                                         "pricing": {"category": "teleport"}}}  # fmt: skip
    (out,) = parse_record(json.dumps(env).encode(), AT)
    assert isinstance(out, Rejection) and "pricing.category" in out.field and out.event_id == "w1"


def test_voice_assistant_messages_are_metered_apart_from_chat() -> None:
    # the reseller seed's "Alice" columns: operator, bot (notification) and user messages with the assistant
    prices = {"voice_assistant.operator.messages": {"unit": "0.003"}, "voice_assistant.bot.messages": {"unit": "0.002"},
              "voice_assistant.user.messages": {"unit": "0.0015"}}  # fmt: skip
    rater = Rater(books(book("direct", prices)), DIRECTORY, MemoryState())
    common = {"channel": "voice_assistant", "account": "alice-1", "contact": "+2"}
    sent = {ln.meter: ln for ln in rater.rate(event("direct", "message.sent", {**common, "sender_kind": "operator"}))}  # type: ignore[arg-type]
    bot = {ln.meter: ln for ln in rater.rate(event("direct", "message.sent", {**common, "sender_kind": "bot"}, 2))}  # type: ignore[arg-type]
    user = {ln.meter: ln for ln in rater.rate(event("direct", "message.received", common, 3))}  # type: ignore[arg-type]
    assert set(sent) == {"voice_assistant.outbound.sent", "voice_assistant.operator.messages"}
    assert sent["voice_assistant.operator.messages"].amount_platform == D("0.003000")
    assert bot["voice_assistant.bot.messages"].amount_platform == D("0.002000")
    assert set(user) == {"voice_assistant.inbound.messages", "voice_assistant.user.messages"}
    assert user["voice_assistant.user.messages"].amount_platform == D("0.001500")
    assert not any(m.startswith("chat.") for m in (*sent, *bot, *user)) and rater.unpriced == {}
