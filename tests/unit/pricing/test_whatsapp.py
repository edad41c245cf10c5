"""Meta's per-message pricing rules: only delivered templates; utility free in the 24 h window;
everything free for 72 h after answering a free-entry-point message; provider pricing wins."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from omnimeter.pricing.whatsapp import (
    FreeReason,
    WindowState,
    fep_window_start,
    inbound,
    outbound,
    template_delivered,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_marketing_and_authentication_are_always_charged_outside_fep() -> None:
    s = inbound(WindowState(), T0)
    assert template_delivered(s, T0 + H, "marketing").charged
    assert template_delivered(s, T0 + H, "authentication").charged


def test_utility_inside_and_outside_the_customer_service_window() -> None:
    s = inbound(WindowState(), T0)
    inside = template_delivered(s, T0 + 23 * H, "utility")
    assert not inside.charged and inside.free_reason == FreeReason.CUSTOMER_SERVICE_WINDOW
    assert template_delivered(s, T0 + 24 * H, "utility").charged  # the window is [t, t + 24 h)
    assert template_delivered(WindowState(), T0, "utility").charged  # no customer message at all


def test_a_later_customer_message_extends_the_window_and_order_does_not_matter_for_state() -> None:
    s1 = inbound(inbound(WindowState(), T0), T0 + 20 * H)
    s2 = inbound(inbound(WindowState(), T0 + 20 * H), T0)
    assert s1 == s2
    assert not template_delivered(s1, T0 + 30 * H, "utility").charged


def test_free_entry_point_window_opens_on_the_answer_and_lasts_72h() -> None:
    s = inbound(WindowState(), T0, entry_point="ctwa_ad")
    s = outbound(s, T0 + 2 * H)  # answered within 24 h
    for at in (T0 + 2 * H, T0 + 50 * H, T0 + 73 * H):
        d = template_delivered(s, at, "marketing")
        assert not d.charged and d.free_reason == FreeReason.FREE_ENTRY_POINT
    assert template_delivered(s, T0 + 74 * H, "marketing").charged  # 2 h + 72 h passed


def test_free_entry_point_needs_an_answer_within_24h() -> None:
    s = outbound(inbound(WindowState(), T0, entry_point="ctwa_ad"), T0 + 25 * H)
    assert fep_window_start(s, T0 + 26 * H) is None
    assert template_delivered(s, T0 + 26 * H, "marketing").charged


def test_ordinary_inbound_opens_no_free_entry_point_window() -> None:
    s = outbound(inbound(WindowState(), T0), T0 + H)
    assert template_delivered(s, T0 + 2 * H, "marketing").charged


def test_provider_pricing_wins_over_computed_windows() -> None:
    s = inbound(WindowState(), T0)
    assert template_delivered(s, T0 + H, "utility", provider_type="regular").charged
    free = template_delivered(WindowState(), T0, "marketing", provider_type="free_entry_point")
    assert not free.charged and free.free_reason == FreeReason.FREE_ENTRY_POINT
    assert (
        template_delivered(
            WindowState(), T0, "utility", provider_type="regular", provider_category="marketing"
        ).category
        == "marketing"
    )
    assert not template_delivered(WindowState(), T0, "marketing", provider_billable=False).charged


def test_state_round_trips_through_a_table() -> None:
    s = outbound(inbound(WindowState(), T0, entry_point="ctwa_ad"), T0 + H)
    assert WindowState.from_bytes(s.to_bytes()) == s
    assert WindowState.from_bytes(WindowState().to_bytes()) == WindowState()
    assert len(s.to_bytes()) == 1 + 3 * 2 + 3 * 8


def test_state_written_as_json_by_earlier_builds_is_read() -> None:
    s = outbound(inbound(WindowState(), T0, entry_point="ctwa_ad"), T0 + H)
    text = {k: [t.isoformat() for t in getattr(s, k)] for k in ("inbound", "fep_inbound", "outbound")}
    assert WindowState.from_bytes(json.dumps(text).encode()) == s


def test_decisions_do_not_depend_on_arrival_order() -> None:
    # customer at 08:00, utility template at 09:00, customer again at 10:00 (arrives first after a replay)
    events = [("in", T0 - H), ("in", T0 + H)]
    for order in (events, events[::-1]):
        s = WindowState()
        for _, at in order:
            s = inbound(s, at)
        s = outbound(s, T0)
        assert not template_delivered(s, T0, "utility").charged


def test_the_answer_that_opens_a_free_entry_point_window_is_free_itself() -> None:
    s = outbound(inbound(WindowState(), T0, entry_point="page_cta"), T0 + H)
    assert not template_delivered(s, T0 + H, "marketing").charged


def test_state_stays_bounded() -> None:
    s = WindowState()
    for i in range(1000):
        s = outbound(inbound(s, T0 + i * H), T0 + i * H)
    assert len(s.inbound) <= 64 and len(s.outbound) <= 64
    assert min(s.inbound) >= T0 + 999 * H - timedelta(hours=120)


def test_pruned_state_is_the_same_in_any_order() -> None:
    import random

    from omnimeter.pricing.whatsapp import HORIZON

    rnd = random.Random(3)
    msgs = [(rnd.choice(["in", "fep", "out"]), T0 + rnd.randint(0, 400) * H) for _ in range(150)]
    states = []
    for _ in range(5):
        rnd.shuffle(msgs)
        s = WindowState()
        for kind, at in msgs:
            s = outbound(s, at) if kind == "out" else inbound(s, at, "ctwa_ad" if kind == "fep" else None)
        states.append(s)
    assert all(s == states[0] for s in states)
    s = states[0]
    assert s.newest is not None and min(s.inbound + s.outbound) >= s.newest - HORIZON
    assert max(len(s.inbound), len(s.fep_inbound), len(s.outbound)) <= 64


def test_decidable_from_is_72h_before_the_newest_message_unless_a_list_is_full() -> None:
    s = outbound(inbound(WindowState(), T0), T0 + 100 * H)
    assert s.decidable_from() == T0 + 28 * H
    assert WindowState().decidable_from() is None
    full = WindowState()
    for i in range(64):
        full = inbound(full, T0 + i * timedelta(minutes=1))
    # the oldest inbound time kept may have had older ones dropped: decisions need 96 h behind them
    assert full.decidable_from() == T0 + 96 * H
