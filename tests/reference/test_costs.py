"""What each line costs the platform: cost books per supplier and provider-reported prices, by hand.

Sources:
- Meta's WhatsApp rate card effective 2025-07-01 (per delivered template, USD, by the recipient's country
  calling code), as tabulated by sent.dm, "WhatsApp Business Platform Pricing Guide"
  (docs.sent.dm/docs/guides/whatsapp-pricing): Argentina marketing 0.0618, utility 0.0289;
  Australia marketing 0.0732. Meta, "Pricing on the WhatsApp Business Platform": utility templates
  delivered inside an open customer-service window are free; lower utility rates unlock with volume.
- Twilio's message status callback reports what the message cost (``Price``, ``PriceUnit``): a
  provider-reported price, which wins over the cost book.
- Voice rate decks: the X/Y increment convention (DESIGN.md section 3), a carrier billing 6/6 against a
  customer book billing 60/60.
- SMS segments: GSM 03.38 / Twilio (161 GSM-7 characters are 2 segments, 153 + 8).
Every expected number below is computed by hand in its comment.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

from omnimeter.pricing.cycle_charges import cycle_costs
from omnimeter.pricing.rating import BillableLine
from tests.reference.books import AT, book, books, by_meter, call, event, rate

META = {
    "whatsapp.template.marketing": {"by_country": {"AR": "0.0618", "AU": "0.0732"}},
    "whatsapp.template.utility": {"by_country": {"AR": "0.0289"}},
}
CUSTOMER = {"whatsapp.template.marketing": {"unit": "0.0800"}, "whatsapp.template.utility": {"unit": "0.0400"}}
H = timedelta(hours=1)


def template(n: int, category: str, country: str, at: Any = AT, **extra: Any) -> list[Any]:
    data = {"channel": "whatsapp", "account": "+5491100000", "contact": f"+54911{n:05d}", "country": country,
            "sender_kind": "system", "template": {"name": "t", "category": category}}  # fmt: skip
    return [
        event("direct", "message.sent", data, n, at),
        event("direct", "message.delivered", {**data, "message_id": f"m{n}", **extra}, n + 1, at),
    ]


def only(lines: list[BillableLine], meter: str) -> BillableLine:
    (ln,) = by_meter(lines)[meter]
    return ln


def test_whatsapp_cost_from_metas_rate_card_by_country() -> None:
    # A marketing template to Argentina costs 0.0618 (Meta), is priced 0.0800: margin 0.0182.
    b = books(book("direct", CUSTOMER), book("cost", META, party="meta"))
    ln = only(rate(template(1, "marketing", "AR"), b), "whatsapp.template.marketing")
    assert (ln.amount_platform, ln.cost_amount, ln.cost_currency) == (D("0.08"), D("0.0618"), "USD")
    assert (ln.cost_source, ln.cost_book, ln.quantity_cost) == ("book", "cost-meta@1", D(1))
    assert ln.amount_platform - ln.cost_amount == D("0.0182")
    au = only(rate(template(3, "marketing", "AU"), b), "whatsapp.template.marketing")
    assert au.cost_amount == D("0.0732")  # margin 0.0800 - 0.0732 = 0.0068


def test_a_provider_reported_price_wins_over_the_cost_book() -> None:
    b = books(book("direct", CUSTOMER), book("cost", META, party="meta"))
    events = template(1, "marketing", "AR", provider_price={"amount": "0.0625", "currency": "USD"})
    ln = only(rate(events, b), "whatsapp.template.marketing")
    assert (ln.cost_amount, ln.cost_source, ln.cost_book) == (D("0.0625"), "provider", "")


def test_metas_rules_decide_the_cost_even_where_the_platform_charges() -> None:
    # A customer message at 10:00 opens the customer-service window; a utility template at 11:00 inside it
    # is free for Meta (2025-07-01 rules: cost 0), while the platform's book, on the 2026-10-01 rules,
    # charges it 0.0400: margin 0.0400.
    rules_2026_10 = {"whatsapp": {"free_in_service_window": [], "charge_service_messages": True}}
    b = books(book("direct", CUSTOMER, rules_2026_10), book("cost", META, party="meta"))
    inbound = event("direct", "message.received", {"channel": "whatsapp", "account": "+5491100000",
                                                    "contact": "+5491100001", "country": "AR"}, 0, AT - H)  # fmt: skip
    for order in ([inbound, *template(1, "utility", "AR")], [*template(1, "utility", "AR"), inbound]):
        lines = [ln for ln in rate(order, b) if ln.meter == "whatsapp.template.utility"]
        assert sum(ln.amount_platform for ln in lines) == D("0.04"), order
        assert sum(ln.cost_amount for ln in lines) == 0, order
        assert lines[-1].free_reason_cost == "customer_service_window"
    # late customer message: the first decision (cost 0.0289) is reversed and corrected to 0
    late = rate([*template(1, "utility", "AR"), inbound], b)
    assert [ln.cost_amount for ln in late if ln.meter == "whatsapp.template.utility"] == [
        D("0.0289"), D("-0.0289"), D(0),
    ]  # fmt: skip


def sms(n: int, number: str, body: str, **extra: Any) -> Any:
    return event("direct", "message.sent", {"channel": "sms", "account": "+15550001", "contact": number,
                                            "sender_kind": "operator", "body": body, **extra}, n)  # fmt: skip


AGGREGATOR = {"sms.outbound.segments": {"by_prefix": {"1": "0.0079", "44": "0.0400", "447": "0.0350"}}}


def test_sms_cost_by_destination_prefix_per_segment() -> None:
    # 161 GSM-7 characters are 2 segments. To +44 7700 900123 the longest prefix is 447: 2 x 0.0350 = 0.0700;
    # priced 2 x 0.0500 = 0.1000: margin 0.0300. To +1 555 123 4567: 2 x 0.0079 = 0.0158.
    b = books(book("direct", {"sms.outbound.segments": {"unit": "0.05"}}), book("cost", AGGREGATOR, party="agg"))
    uk = only(rate([sms(1, "+447700900123", "a" * 161)], b), "sms.outbound.segments")
    assert (uk.quantity, uk.amount_platform, uk.cost_amount) == (D(2), D("0.10"), D("0.07"))
    us = only(rate([sms(2, "+15551234567", "a" * 161)], b), "sms.outbound.segments")
    assert us.cost_amount == D("0.0158")
    # a landline in London (+44 20) takes the 44 rate: 2 x 0.0400
    assert only(rate([sms(3, "+442079460000", "a" * 161)], b), "sms.outbound.segments").cost_amount == D("0.08")


def test_sms_status_callback_price_is_the_cost() -> None:
    # Twilio reports Price=-0.0083 PriceUnit=USD for a one-segment SMS: the producer sends 0.0083.
    b = books(book("direct", {"sms.outbound.segments": {"unit": "0.05"}}), book("cost", AGGREGATOR, party="agg"))
    ln = only(rate([sms(1, "+15551234567", "hi", provider_price={"amount": "0.0083", "currency": "USD"})], b),
              "sms.outbound.segments")  # fmt: skip
    assert (ln.cost_amount, ln.cost_source) == (D("0.0083"), "provider")


def test_voice_cost_under_the_carriers_increments() -> None:
    # A 61 s outbound call. Customer book 60/60 at 0.0200/min: 120 s = 0.0400. Carrier 6/6 at 0.0120/min:
    # 66 s = 66 x 0.0120 / 60 = 0.0132. Margin 0.0268.
    b = books(
        book("direct", {"voice.outbound.seconds": {"unit": "0.0200", "per": 60}}, {"voice_increment": "60/60"}),
        book("cost", {"voice.outbound.seconds": {"unit": "0.0120", "per": 60}}, {"voice_increment": "6/6"},
             party="carrier"),
    )  # fmt: skip
    ln = only(rate([call("direct", 61)], b), "voice.outbound.seconds")
    assert (ln.quantity, ln.amount_platform) == (D(120), D("0.04"))
    assert (ln.quantity_cost, ln.cost_amount) == (D(66), D("0.0132"))
    assert ln.amount_platform - ln.cost_amount == D("0.0268")


def test_cycle_cost_follows_the_cost_books_charge_model() -> None:
    # Meta's volume tiers for utility: up to 2 at 0.0289, then 0.0250 for every unit (volume). Three
    # utility templates to Argentina in one cycle: 3 x 0.0250 = 0.0750, rounded half-up to 0.08. The lines,
    # each priced from zero, sum 3 x 0.0289 = 0.0867 (0.09): adjustment -0.01.
    tiers = [{"up_to": 2, "unit": "0.0289"}, {"unit": "0.0250"}]
    volume = {"whatsapp.template.utility": {"model": "volume", "tiers": tiers}}
    b = books(book("direct", CUSTOMER), book("cost", volume, party="meta"))
    events = [e for n in (1, 3, 5) for e in template(n, "utility", "AR")]
    (c,) = cycle_costs(rate(events, b), b)
    assert (c.meter, c.cost.lines_amount, c.cost.charge, c.cost.adjustment) == (
        "whatsapp.template.utility", D("0.09"), D("0.08"), D("-0.01"),
    )  # fmt: skip
    # the same in any order
    (again,) = cycle_costs(rate(list(reversed(events)), b), b)
    assert again.cost == c.cost


def test_a_provider_price_on_an_event_type_that_does_not_declare_it_is_ignored() -> None:
    # video calls and bot turns carry no provider_price field: an extra one must not stop their rating
    b = books(book("direct", {"video.minutes": {"unit": "0.0040"}}), book("cost", AGGREGATOR, party="agg"))
    extra = {"provider_price": {"amount": "1", "currency": "USD"}}
    video = event("direct", "video_call.completed", {"duration_s": 600, **extra})
    ln = only(rate([video], b), "video.minutes")
    assert (ln.quantity, ln.amount_platform, ln.cost_amount, ln.cost_source) == (D(10), D("0.04"), D(0), "")


def test_twilios_negative_price_is_what_was_charged_and_covers_the_whole_call() -> None:
    # Twilio reports Price=-0.0132 for a call: the cost is 0.0132, and the carrier book's per-call fee
    # (voice.calls 0.0010) is not added beside it.
    carrier = {"voice.outbound.seconds": {"unit": "0.0120", "per": 60}, "voice.calls": {"unit": "0.0010"}}
    b = books(book("direct", {"voice.outbound.seconds": {"unit": "0.0200", "per": 60}}),
              book("cost", carrier, {"voice_increment": "6/6"}, party="carrier"))  # fmt: skip
    data = {"direction": "outbound", "account": "+15550001", "contact": "+15551234", "answered": True,
            "duration_s": 61, "provider_price": {"amount": "-0.0132", "currency": "USD"}}  # fmt: skip
    lines = by_meter(rate([event("direct", "call.completed", data)], b))
    assert (lines["voice.outbound.seconds"][0].cost_amount, lines["voice.outbound.seconds"][0].cost_source) == (
        D("0.0132"), "provider",
    )  # fmt: skip
    assert lines["voice.calls"][0].cost_amount == 0
    assert sum(c.cost.charge for c in cycle_costs([ln for ls in lines.values() for ln in ls], b)) == D("0.01")


def test_each_supplier_has_its_own_cycle_minimum() -> None:
    # Carrier a (minimum 1.00 a cycle, 0.0120/min) and carrier b (a later book, 0.0060/min, no minimum)
    # each carry one 60 s call: a charges max(0.012, 1.00) = 1.00, b 0.006 -> 0.01; the cost is 1.01.
    a = book("cost", {"voice.outbound.seconds": {"unit": "0.0120", "per": 60, "minimum": "1.00"}}, party="a")
    bb = {**book("cost", {"voice.outbound.seconds": {"unit": "0.0060", "per": 60}}, party="b"),
          "effective_from": "2026-06-01T00:00:00Z"}  # fmt: skip
    b = books(book("direct", {"voice.outbound.seconds": {"unit": "0.0200", "per": 60}}), a, bb)

    def via(supplier: str, n: int) -> Any:
        return event("direct", "call.completed", {"direction": "outbound", "account": "+15550001",
                                                  "contact": "+15551234", "answered": True, "duration_s": 60,
                                                  "supplier": supplier}, n)  # fmt: skip

    (c,) = [c for c in cycle_costs(rate([via("a", 1), via("b", 2)], b), b) if c.meter == "voice.outbound.seconds"]
    assert c.cost.charge == D("1.01")


def test_a_cost_book_version_that_stops_pricing_a_channel_ends_its_cost() -> None:
    first = book("cost", AGGREGATOR, party="agg")
    later = {**first, "version": "2", "effective_from": "2026-11-01T00:00:00Z",
             "prices": {"voice.outbound.seconds": {"unit": "0.01", "per": 60}}}  # fmt: skip
    b = books(book("direct", {"sms.outbound.segments": {"unit": "0.05"}}), first, later)
    ln = only(rate([sms(1, "+15551234567", "hi")], b), "sms.outbound.segments")  # AT is in November
    assert (ln.cost_amount, ln.cost_source) == (D(0), "")
