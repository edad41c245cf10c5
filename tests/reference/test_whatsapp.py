"""WhatsApp per-message pricing: vectors written by hand from the providers' published examples.

Sources (read 2026-12-01):
* Meta, "Pricing on the WhatsApp Business Platform", per-message pricing from 2025-07-01
  (developers.facebook.com/docs/whatsapp/pricing), as restated with its examples by YCloud, "2025 WhatsApp
  pricing migration" (docs.ycloud.com/api-reference/getting-started/changelog/whatsapp-pricing-2025) and
  "WhatsApp billing rules" (helpdocs.ycloud.com/help-center/pricing-and-billing/billing-rule):
  - "If a business sends 1 marketing message and 1 utility message, that is 1 charge for each category";
  - the customer-service window is a 24 h timer that starts when the user messages and resets with each
    user message; while it is open, free-form messages and utility templates are free; marketing and
    authentication templates are still charged;
  - when a user messages through a click-to-WhatsApp ad or a Facebook page call-to-action and the
    business answers within 24 h, the answer opens a 72 h free-entry-point window in which templates are
    free.
* From 2026-10-01 (reported by BSPs; not yet on a Meta page we could read): service (non-template)
  messages are charged per message at the utility rate, utility templates inside the customer-service
  window are charged too, the free-entry-point window stays free. ChakraHQ, "Non-template (service)
  messages will now be charged from October 2026" (chakrahq.com/article/whatsapp-api-pricing-update-
  service-messages-october-2026); Patagon, "WhatsApp Business API pricing" (patagon.ai/blog-posts/
  whatsapp-business-api-pricing); hello-charles, "Understand Meta's WhatsApp pricing (revised July 1,
  2026)"; WhaTools cost estimator ("as of 1 October 2026 utility is billed even inside the
  customer-service window, and service messages are billed at the utility rate").

Every expected number below is written by hand: the book prices a marketing template at 0.0250, a utility
template at 0.0040, an authentication template at 0.0135 and (from 2026-10-01) a service message at the
utility rate, 0.0040. Events arrive in the order of each list, whatever their times: a late message
corrects a decision already made (a reversal and a corrected line), and totals are the same in every
arrival order.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from omnimeter.pricing.rating import BillableLine
from omnimeter.pricing.totals import totals
from omnimeter.schemas.events import UsageEvent
from tests.reference.books import book, books, event, rate

PRICES = {
    "whatsapp.template.marketing": {"unit": "0.0250"},
    "whatsapp.template.utility": {"unit": "0.0040"},
    "whatsapp.template.authentication": {"unit": "0.0135"},
    "whatsapp.service.messages": {"unit": "0.0040"},
}
RULES_2026_10 = {"whatsapp": {"free_in_service_window": [], "charge_service_messages": True}}
# The 2025-07-01 rules (the default settings) until 2026-10-01, then the BSP-reported rules.
BOOKS = books(
    book("direct", PRICES),
    {**book("direct", PRICES, RULES_2026_10), "version": "2", "effective_from": "2026-10-01T00:00:00Z"},
)
JULY = datetime(2026, 7, 6, tzinfo=UTC)  # a Monday under the 2025-07-01 rules
NOVEMBER = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday under the 2026-10-01 rules
H = timedelta(hours=1)
CHAT = {"channel": "whatsapp", "account": "+5215550001", "contact": "+5215559999"}


def customer(
    n: int, at: datetime, entry_point: str | None = None, contact: str = CHAT["contact"], tenant: str = "direct"
) -> UsageEvent:
    data: dict[str, Any] = {**CHAT, "contact": contact, **({"entry_point": entry_point} if entry_point else {})}
    return event(tenant, "message.received", data, n, at)


def template(
    n: int, at: datetime, category: str, contact: str = CHAT["contact"], tenant: str = "direct"
) -> list[UsageEvent]:
    """A template sent and delivered at `at`."""
    data = {**CHAT, "contact": contact, "sender_kind": "system", "template": {"name": f"t{n}", "category": category}}
    return [
        event(tenant, "message.sent", data, n, at),
        event(tenant, "message.delivered", {**data, "message_id": f"m{n}"}, n + 1, at),
    ]


def reply(n: int, at: datetime, contact: str = CHAT["contact"], tenant: str = "direct") -> list[UsageEvent]:
    """A free-form (service) answer sent and delivered at `at`."""
    data = {**CHAT, "contact": contact, "sender_kind": "operator"}
    return [
        event(tenant, "message.sent", data, n, at),
        event(tenant, "message.delivered", {**data, "message_id": f"m{n}"}, n + 1, at),
    ]


def charged(lines: list[BillableLine]) -> dict[str, tuple[Decimal, Decimal]]:
    """Charged quantity and price to platform per WhatsApp meter, as `omnimeter rate` totals them."""
    return {
        t.meter: (t.quantity, t.amount_platform)
        for t in totals(lines, BOOKS)
        if t.meter.startswith(("whatsapp.template.", "whatsapp.service."))
    }


def test_marketing_template_then_a_late_click_to_whatsapp_message_timed_before_it_is_free() -> None:
    # The customer writes through a click-to-WhatsApp ad at 09:00; the business answers with a marketing
    # template at 10:00 (within 24 h): the answer opens the 72 h free-entry-point window, the template is
    # free. The ad message arrives after the template was rated.
    at = JULY + 10 * H
    events = [*template(1, at, "marketing"), customer(3, JULY + 9 * H, entry_point="ctwa_ad")]
    lines = rate(events, BOOKS)
    assert charged(lines) == {"whatsapp.template.marketing": (Decimal(0), Decimal("0.00"))}
    first, reversal, corrected = [ln for ln in lines if ln.meter == "whatsapp.template.marketing"]
    assert (first.free_reason, first.amount_platform) == ("", Decimal("0.025"))  # rated before the ad message
    assert (reversal.quantity, reversal.amount_platform, reversal.free_reason) == (-1, Decimal("-0.025"), "")
    assert (corrected.quantity, corrected.amount_platform, corrected.free_reason) == (1, 0, "free_entry_point")
    assert reversal.corrects_line_id == corrected.corrects_line_id == "ref/e2/1"
    assert reversal.correction_reason == corrected.correction_reason == "late message.received ref/e3"
    # in time order nothing needs correcting, and the totals are the same
    in_order = rate([events[2], *events[:2]], BOOKS)
    assert not any(ln.corrects_line_id for ln in in_order)
    assert charged(in_order) == charged(lines)
    # a corrected decision counts as one line in the totals (its reversal -1, its corrected line +1)
    assert [(t.meter, t.lines) for t in totals(lines, BOOKS)] == [(t.meter, t.lines) for t in totals(in_order, BOOKS)]


def test_utility_template_then_a_late_customer_message_timed_before_it_is_free() -> None:
    # Customer message at 09:00 opens the 24 h customer-service window; a utility template delivered at
    # 10:00 inside it is free (2025-07-01 rules). The customer message arrives last.
    events = [*template(1, JULY + 10 * H, "utility"), customer(3, JULY + 9 * H)]
    lines = rate(events, BOOKS)
    assert charged(lines) == {"whatsapp.template.utility": (Decimal(0), Decimal("0.00"))}
    assert [ln.free_reason for ln in lines if ln.meter == "whatsapp.template.utility"] == [
        "",
        "",
        "customer_service_window",
    ]


def test_a_late_customer_message_does_not_free_marketing_or_authentication() -> None:
    # Only utility templates are free in the customer-service window: 0.0250 + 0.0135 stay charged.
    events = [*template(1, JULY + 10 * H, "marketing"), *template(3, JULY + 11 * H, "authentication")]
    events.append(customer(5, JULY + 9 * H))
    lines = rate(events, BOOKS)
    assert not any(ln.corrects_line_id for ln in lines)
    assert charged(lines) == {
        "whatsapp.template.marketing": (Decimal(1), Decimal("0.03")),  # 0.025 rounded half-up to the cent
        "whatsapp.template.authentication": (Decimal(1), Decimal("0.01")),  # 0.0135
    }


def test_a_customer_message_timed_after_the_template_frees_nothing() -> None:
    # The window opens at the customer's message: a utility template delivered an hour before is charged.
    events = [*template(1, JULY + 10 * H, "utility"), customer(3, JULY + 11 * H)]
    for order in itertools.permutations(events):
        lines = rate(list(order), BOOKS)
        assert charged(lines) == {"whatsapp.template.utility": (Decimal(1), Decimal("0.00"))}  # 0.004
        assert sum(ln.amount_platform for ln in lines) == Decimal("0.004")


def test_the_free_entry_point_window_lasts_72_hours_from_the_answer_in_any_order() -> None:
    # Ad message Monday 09:00, answered by a service reply at 09:30: free until Thursday 09:30. Marketing
    # templates Wednesday 09:00 (free) and Thursday 10:00 (charged, 0.0250), in every arrival order.
    events = [
        customer(1, JULY + 9 * H, entry_point="ctwa_ad"),
        *reply(2, JULY + 9.5 * H),
        *template(4, JULY + 57 * H, "marketing"),
        *template(6, JULY + 82 * H, "marketing"),
    ]
    for order in itertools.permutations([events[0], events[1:3], events[3:5], events[5:7]]):
        flat = [e for part in order for e in (part if isinstance(part, list) else [part])]
        lines = rate(flat, BOOKS)
        assert sum(ln.amount_platform for ln in lines if ln.meter == "whatsapp.template.marketing") == Decimal("0.025")


def test_from_2026_10_01_service_messages_are_charged_at_the_utility_rate_and_utility_inside_the_window() -> None:
    # November 2026: customer at 09:00, service reply at 09:05 (0.0040), utility template at 10:00 inside the
    # customer-service window (0.0040, no longer free): 0.0080.
    events = [customer(1, NOVEMBER + 9 * H), *reply(2, NOVEMBER + 9 * H + timedelta(minutes=5))]
    events += template(4, NOVEMBER + 10 * H, "utility")
    lines = rate(events, BOOKS)
    assert charged(lines) == {
        "whatsapp.service.messages": (Decimal(1), Decimal("0.00")),  # 0.004 rounds to 0.00 per cycle
        "whatsapp.template.utility": (Decimal(1), Decimal("0.00")),
    }
    assert sum(ln.amount_platform for ln in lines) == Decimal("0.008")
    assert {ln.book_platform for ln in lines} == {"direct-platform@2"}


def test_before_2026_10_01_the_same_conversation_costs_nothing() -> None:
    # July 2026 (2025-07-01 rules): the service reply is not billed and the utility template is free.
    events = [customer(1, JULY + 9 * H), *reply(2, JULY + 9 * H + timedelta(minutes=5))]
    events += template(4, JULY + 10 * H, "utility")
    lines = rate(events, BOOKS)
    assert sum(ln.amount_platform for ln in lines) == 0
    assert not [ln for ln in lines if ln.meter == "whatsapp.service.messages"]
    assert {ln.book_platform for ln in lines} == {"direct-platform@1"}


def test_from_2026_10_01_the_free_entry_point_window_stays_free_for_service_and_templates() -> None:
    # November 2026: ad message at 09:00, service reply at 09:05 and a marketing template at 12:00, the
    # ad message arriving last: everything is free.
    events = [*reply(1, NOVEMBER + 9 * H + timedelta(minutes=5)), *template(3, NOVEMBER + 12 * H, "marketing")]
    events.append(customer(5, NOVEMBER + 9 * H, entry_point="ctwa_ad"))
    lines = rate(events, BOOKS)
    assert sum(ln.amount_platform for ln in lines) == 0
    assert charged(lines) == {
        "whatsapp.service.messages": (Decimal(0), Decimal("0.00")),
        "whatsapp.template.marketing": (Decimal(0), Decimal("0.00")),
    }
    assert sum(1 for ln in lines if ln.corrects_line_id) == 4  # two decisions corrected, two lines each


def test_from_2026_10_01_a_late_customer_message_no_longer_frees_a_utility_template() -> None:
    events = [*template(1, NOVEMBER + 10 * H, "utility"), customer(3, NOVEMBER + 9 * H)]
    lines = rate(events, BOOKS)
    assert not any(ln.corrects_line_id for ln in lines)
    assert sum(ln.amount_platform for ln in lines) == Decimal("0.004")


def test_a_late_message_past_the_horizon_leaves_the_decision_standing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A utility template at July 6 10:00, then the conversation goes on for 5 days (a template on July 11
    # 10:00); a customer message timed July 6 09:00 arrives last: more than 72 h (the lateness the window
    # state keeps) before the conversation's newest message, so the July 6 decision (0.0040) stands.
    events = [
        *template(1, JULY + 10 * H, "utility"),
        *template(3, JULY + 130 * H, "utility"),
        customer(5, JULY + 9 * H),
    ]
    lines = rate(events, BOOKS)
    assert not any(ln.corrects_line_id for ln in lines)
    assert sum(ln.amount_platform for ln in lines) == Decimal("0.008")


def test_omnimeter_rate_gives_the_same_totals_for_the_file_in_any_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `omnimeter rate` on the conversations above, the file in time order and reversed: the same totals
    # (the reversed file rates every template before the messages that free it, and corrects them).
    import io
    import json
    from pathlib import Path

    from omnimeter.cli.offline_rate import run_rate
    from tests.reference.books import DIRECTORY

    events = [customer(1, JULY + 9 * H, entry_point="ctwa_ad"), *template(2, JULY + 10 * H, "marketing")]
    events += [customer(4, JULY + 30 * H), *template(5, JULY + 40 * H, "utility"), customer(7, JULY + 39 * H)]
    other = "+5215558888"  # another conversation (months later: one conversation would be past the horizon)
    events += [customer(8, NOVEMBER + 9 * H, contact=other), *reply(9, NOVEMBER + 9.5 * H, contact=other)]
    events += template(11, NOVEMBER + 10 * H, "utility", contact=other)
    (tmp_path / "prices.yaml").write_text(json.dumps({"books": [b.model_dump(mode="json") for b in BOOKS.books]}))
    (tmp_path / "directory.yaml").write_text(json.dumps(DIRECTORY.model_dump(mode="json")))
    out = {}
    for name, order in (("in-order", sorted(events, key=lambda e: e.time)), ("reversed", events[::-1])):
        path = Path(tmp_path / f"{name}.jsonl")
        path.write_text("".join(e.model_dump_json(by_alias=True) + "\n" for e in order))
        buf = io.StringIO()
        assert run_rate(tmp_path / "prices.yaml", tmp_path / "directory.yaml", path, "json", False, buf) == 0
        out[name] = json.loads(buf.getvalue())
    assert out["in-order"]["totals"] == out["reversed"]["totals"]
    assert any(ln["corrects_line_id"] for ln in out["reversed"]["lines"])
    price = {t["meter"]: t["lines_platform"] for t in out["reversed"]["totals"]}
    # July: marketing at 10:00 free (ad message 09:00, answered by it); utility at +40 h free (customer at
    # +39 h). November: the service reply and the utility template, 0.0040 each (2026-10-01 rules).
    assert price["whatsapp.template.marketing"] == "0.00"
    charged = {t["meter"]: t["quantity"] for t in out["reversed"]["totals"]}
    assert (charged["whatsapp.template.marketing"], charged["whatsapp.template.utility"]) == ("0", "1")  # November
    assert charged["whatsapp.service.messages"] == "1"
    lines = sum(Decimal(ln["amount_platform"]) for ln in out["reversed"]["lines"])
    assert lines == Decimal("0.008")  # the November service reply and utility template, 0.0040 each


# A reseller's tenant whose two books follow different WhatsApp rules: each price is decided under its own
# book's rules (issue 14 point 4). Prices in whole cents so that every cycle charge is visible.
WHOLESALE = {"whatsapp.template.utility": {"unit": "0.04"}, "whatsapp.service.messages": {"unit": "0.04"}}
RETAIL = {"whatsapp.template.utility": {"unit": "0.06"}, "whatsapp.service.messages": {"unit": "0.06"}}


def party_totals(lines: list[BillableLine], price_books: Any) -> dict[str, tuple[Decimal, Decimal]]:
    """Price to platform and price to reseller per WhatsApp meter (cycle charges)."""
    return {
        t.meter: (t.amount_platform, t.amount_reseller)
        for t in totals(lines, price_books)
        if t.meter.startswith(("whatsapp.template.", "whatsapp.service."))
    }


def conversation(tenant: str = "sub") -> list[UsageEvent]:
    """November 2026: customer message 09:00, service reply 09:05, utility template 10:00 (in the window)."""
    return [
        customer(1, NOVEMBER + 9 * H, tenant=tenant),
        *reply(2, NOVEMBER + 9 * H + timedelta(minutes=5), tenant=tenant),
        *template(4, NOVEMBER + 10 * H, "utility", tenant=tenant),
    ]


def test_wholesale_on_the_2026_10_rules_and_retail_on_the_2025_rules_each_decide_their_own_price() -> None:
    # Wholesale (2026-10-01 rules): the service reply costs 0.04 and the utility template in the window 0.04,
    # so the reseller pays the platform 0.08. Retail (2025-07-01 rules): the reply is not billed and the
    # template is free in the customer-service window: the tenant pays the reseller 0.00.
    b = books(book("wholesale", WHOLESALE, RULES_2026_10), book("retail", RETAIL))
    events = conversation()
    for order in itertools.permutations([events[0], events[1:3], events[3:5]]):
        flat = [e for part in order for e in (part if isinstance(part, list) else [part])]
        lines = rate(flat, b)
        assert party_totals(lines, b) == {
            "whatsapp.service.messages": (Decimal("0.04"), Decimal("0.00")),
            "whatsapp.template.utility": (Decimal("0.04"), Decimal("0.00")),
        }, order
        # a reversal of a line only the platform charges (quantity 0 for the tenant) still takes it back
        assert {t.meter: t.lines for t in totals(lines, b) if t.meter.startswith("whatsapp.")} == {
            "whatsapp.inbound.messages": 1, "whatsapp.outbound.sent": 2, "whatsapp.outbound.delivered": 2,
            "whatsapp.service.messages": 1, "whatsapp.template.utility": 1,
        }, order  # fmt: skip
    (util,) = [ln for ln in rate(events, b) if ln.meter == "whatsapp.template.utility"]
    assert (util.free_reason, util.free_reason_platform) == ("customer_service_window", "")
    assert (util.amount_platform, util.amount_reseller) == (Decimal("0.04"), Decimal(0))


def test_wholesale_on_the_2025_rules_and_retail_on_the_2026_10_rules() -> None:
    # The other way round: the platform charges nothing (reply not billed, template free in the window);
    # the reseller charges the reply 0.06 and the template 0.06.
    b = books(book("wholesale", WHOLESALE), book("retail", RETAIL, RULES_2026_10))
    events = conversation()
    for order in itertools.permutations([events[0], events[1:3], events[3:5]]):
        flat = [e for part in order for e in (part if isinstance(part, list) else [part])]
        assert party_totals(rate(flat, b), b) == {
            "whatsapp.service.messages": (Decimal("0.00"), Decimal("0.06")),
            "whatsapp.template.utility": (Decimal("0.00"), Decimal("0.06")),
        }, order


def test_a_late_customer_message_corrects_only_the_party_whose_rules_it_changes() -> None:
    # The template is rated first (charged by both), then the customer message timed before it arrives:
    # under the retail 2025 rules the template becomes free, under the wholesale 2026-10 rules it stays
    # charged. The reversal takes back both prices, the corrected line charges the platform 0.04 again.
    b = books(book("wholesale", WHOLESALE, RULES_2026_10), book("retail", RETAIL))
    late = customer(1, NOVEMBER + 9 * H, tenant="sub")
    lines = rate([*template(4, NOVEMBER + 10 * H, "utility", tenant="sub"), late], b)
    first, reversal, corrected = [ln for ln in lines if ln.meter == "whatsapp.template.utility"]
    assert (first.amount_platform, first.amount_reseller) == (Decimal("0.04"), Decimal("0.06"))
    assert (reversal.amount_platform, reversal.amount_reseller) == (Decimal("-0.04"), Decimal("-0.06"))
    assert (corrected.amount_platform, corrected.amount_reseller) == (Decimal("0.04"), Decimal(0))
    assert (corrected.free_reason, corrected.free_reason_platform) == ("customer_service_window", "")
    assert party_totals(lines, b) == {"whatsapp.template.utility": (Decimal("0.04"), Decimal("0.00"))}
