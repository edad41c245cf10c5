"""Rating events into billable lines with both amounts; determinism and record-form independence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from omnimeter.cli.traffic import Traffic, build_world, directory_doc
from omnimeter.pricing.books import parse_price_books
from omnimeter.pricing.rating import MemoryState, Rater, rate_all
from omnimeter.schemas.directory import Directory
from omnimeter.schemas.parse import Accepted, parse_record

REF = Path(__file__).resolve().parents[3] / "deploy" / "reference"
BOOKS = parse_price_books((REF / "prices.yaml").read_text())
WORLD = build_world(7, 6)
DIRECTORY = Directory.model_validate(directory_doc(WORLD))
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def event(tenant: str, type_: str, data: dict[str, object], at: datetime = NOW, eid: str = "e1"):  # type: ignore[no-untyped-def]
    env = {
        "specversion": "1.0",
        "id": eid,
        "source": "test",
        "type": type_,
        "time": at.isoformat(),
        "subject": tenant,
        "data": data,
    }
    out = parse_record(json.dumps(env).encode(), NOW + timedelta(days=60))[0]
    assert isinstance(out, Accepted), out
    return out.event


def test_direct_tenant_sms_priced_by_country_with_no_reseller_amount() -> None:
    e = event(
        "tenant-001",
        "message.sent",
        {
            "channel": "sms",
            "account": "+15550000003",
            "contact": "+573001",
            "sender_kind": "operator",
            "country": "CO",
            "body": "a" * 161,
        },
    )
    lines = {ln.meter: ln for ln in rate_all([e], BOOKS, DIRECTORY)}
    seg = lines["sms.outbound.segments"]
    assert seg.quantity == 2 and seg.amount_platform == D("0.025000") and seg.amount_reseller == 0
    assert seg.book_platform == "platform-direct@2026.2" and seg.reseller_id == ""
    assert seg.billing_unit == "tenant-001-bu-sales"  # the account's billing unit, fixed at event time
    assert lines["sms.outbound.sent"].amount_platform == 0


def test_reseller_tenant_carries_price_to_platform_and_price_to_reseller() -> None:
    # tenant-002 is reseller-01's: wholesale bills SMS on delivery (sent is not billed), retail too
    sent = event(
        "tenant-002",
        "message.sent",
        {"channel": "sms", "account": "x", "contact": "+1", "sender_kind": "system", "body": "hi"},
        eid="s",
    )
    delivered = event(
        "tenant-002",
        "message.delivered",
        {"channel": "sms", "account": "x", "contact": "+1", "message_id": "m", "body": "hi"},
        eid="d",
    )
    lines = rate_all([sent, delivered], BOOKS, DIRECTORY)
    seg = [ln for ln in lines if ln.meter == "sms.outbound.segments" and ln.quantity > 0]
    assert len(seg) == 1 and seg[0].event_id == "d"
    # the SMS aggregator's cost book bills on sent: the sent event's segment line carries the cost only
    (cost,) = [ln for ln in lines if ln.meter == "sms.outbound.segments" and ln.cost_amount]
    assert (cost.event_id, cost.quantity, cost.quantity_platform, cost.cost_amount) == ("s", 0, 0, D("0.0055"))
    assert (seg[0].amount_platform, seg[0].amount_reseller) == (D("0.006000"), D("0.009500"))
    assert (seg[0].book_platform, seg[0].book_reseller) == ("platform-wholesale@2026.2", "reseller-01-retail@2026.2")


def test_per_tenant_price_table_wins() -> None:
    data = {"channel": "sms", "account": "a", "contact": "+1", "sender_kind": "operator", "body": "x"}
    own = rate_all([event("tenant-004", "message.sent", data)], BOOKS, DIRECTORY)
    general = rate_all([event("tenant-001", "message.sent", data)], BOOKS, DIRECTORY)
    pick = lambda ls: next(ln for ln in ls if ln.meter == "sms.outbound.segments")  # noqa: E731
    assert pick(own).amount_platform == D("0.005000") and pick(own).book_platform == "tenant-004-contract@2026.2"
    assert pick(general).amount_platform == D("0.007900")


def test_book_version_follows_event_time() -> None:
    text = (
        (REF / "prices.yaml").read_text()
        + """
  - id: platform-direct
    version: "2026.12"
    effective_from: 2026-12-01T00:00:00Z
    audience: direct
    prices:
      video.minutes: {unit: "0.0100"}
"""
    )
    books = parse_price_books(text)
    before = event("tenant-001", "video_call.completed", {"duration_s": 61}, at=datetime(2026, 11, 30, 23, tzinfo=UTC))
    after = event(
        "tenant-001", "video_call.completed", {"duration_s": 61}, at=datetime(2026, 12, 1, 1, tzinfo=UTC), eid="e2"
    )
    lines = rate_all([before, after], books, DIRECTORY)
    assert [(ln.book_platform, ln.amount_platform) for ln in lines] == [
        ("platform-direct@2026.2", D("0.008000")),
        ("platform-direct@2026.12", D("0.020000")),
    ]


def test_calls_use_the_prefix_deck_increment_and_connection_fee() -> None:
    e = event(
        "tenant-001",
        "call.completed",
        {"direction": "outbound", "account": "+1", "contact": "+573001112233", "answered": True, "duration_s": 61},
    )
    voice = next(ln for ln in rate_all([e], BOOKS, DIRECTORY) if ln.meter == "voice.outbound.seconds")
    assert voice.quantity == 120  # 60/60
    assert voice.amount_platform == D("0.092000")  # 2 min x 0.045 (prefix 573) + 0.002 connection


def test_seats_count_once_per_user_and_cycle() -> None:
    seat = {"user_id": "tenant-001-u03", "role": "agent"}
    lines = rate_all(
        [event("tenant-001", "seat.active", seat, at=NOW - timedelta(hours=h), eid=f"s{h}") for h in range(3)],
        BOOKS,
        DIRECTORY,
    )
    assert [ln.meter for ln in lines] == ["seats.active.agent"]


def _traffic_events(seed: int, n: int):  # type: ignore[no-untyped-def]
    tr = Traffic(WORLD, seed=seed, start=NOW - timedelta(days=2), step=timedelta(seconds=20))
    return [tr.event() for _ in range(n)]


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 40))
def test_rating_is_deterministic_and_independent_of_record_form(seed: int, batch: int) -> None:
    envs = _traffic_events(seed, 300)
    singles = [o.event for e in envs for o in parse_record(json.dumps(e).encode(), NOW)]
    runs: list[list[dict[str, object]]] = []  # a batch record holds one tenant: runs of one tenant, in order
    for e in envs:
        if runs and runs[-1][0]["subject"] == e["subject"] and len(runs[-1]) < batch:
            runs[-1].append(e)
        else:
            runs.append([e])
    batched = [o.event for run in runs for o in parse_record(json.dumps(run).encode(), NOW)]
    a = rate_all(singles, BOOKS, DIRECTORY)
    b = rate_all(batched, BOOKS, DIRECTORY)
    c = rate_all(singles, BOOKS, DIRECTORY)
    assert a == b == c
    assert all(ln.amount_platform >= 0 and ln.amount_reseller >= 0 for ln in a)


def test_observe_replays_window_state_without_lines() -> None:
    # today's books (2026-10-01 rules): only the free-entry-point window frees a template
    chat = {"channel": "whatsapp", "account": "+1", "contact": "+2", "entry_point": "ctwa_ad"}
    inbound = event("tenant-001", "message.received", chat)
    utility = event(
        "tenant-001",
        "message.delivered",
        {
            "channel": "whatsapp",
            "account": "+1",
            "contact": "+2",
            "message_id": "m",
            "template": {"name": "order", "category": "utility"},
        },
        at=NOW + timedelta(hours=1),
        eid="e2",
    )
    rater = Rater(BOOKS, DIRECTORY, MemoryState())
    rater.observe(inbound)  # stored before a crash: not rated again, but its window must count
    (tpl,) = [ln for ln in rater.rate(utility) if ln.meter.startswith("whatsapp.template")]
    assert tpl.free_reason == "free_entry_point" and tpl.amount_platform == 0


def test_the_reference_books_express_todays_whatsapp_rules() -> None:
    # deploy/reference/prices.yaml on 2026-11-22: the 2026.2 books (rules of 2026-10-01). A customer message,
    # then a service reply and a utility template inside the customer-service window: both charged at the
    # utility rate (0.0040); a direct tenant's books of 2026-09 (2026.1) charged neither.
    chat = {"channel": "whatsapp", "account": "+1", "contact": "+2"}
    for at, version, charged in ((NOW, "2026.2", D("0.004000")), (NOW - timedelta(days=60), "2026.1", D(0))):
        tpl = {**chat, "message_id": "t", "template": {"name": "o", "category": "utility"}}
        events = [
            event("tenant-001", "message.received", chat, at=at, eid="in"),
            event(
                "tenant-001", "message.delivered", {**chat, "message_id": "r"}, at=at + timedelta(minutes=1), eid="r"
            ),
            event("tenant-001", "message.delivered", tpl, at=at + timedelta(minutes=2), eid="t"),
        ]
        lines = {ln.meter: ln for ln in rate_all(events, BOOKS, DIRECTORY)}
        assert lines["whatsapp.template.utility"].amount_platform == charged
        assert lines["whatsapp.template.utility"].book_platform == f"platform-direct@{version}"
        if charged:
            assert lines["whatsapp.service.messages"].amount_platform == charged
        else:
            assert "whatsapp.service.messages" not in lines
