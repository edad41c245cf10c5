"""WhatsApp per-message pricing (Meta, since 2025-07-01), as a pure state machine per conversation
(tenant, business account, contact).

* Only delivered messages are charged: templates by category and recipient country, and non-template
  service messages when the book says so (``BillingPolicy.whatsapp``: from 2026-10-01 they are charged).
* Which categories are free in which window is a dated book setting (`Rules`): under the 2025-07-01
  rules utility templates are free inside an open customer-service window (24 h from the customer's last
  message); from 2026-10-01 nothing is free there. Everything is free inside a free-entry-point window:
  when a customer writes through a free entry point (click-to-WhatsApp ad, Facebook page call-to-action)
  and the business answers within 24 h, the next 72 h from that answer are free.
* Provider-reported pricing (the webhook's ``pricing`` object) wins over the computed windows.

The state of a conversation is the set of recent message times (customer messages, free-entry-point
messages, business messages), merged as a set union: applying an event twice, or events in any order,
gives the same state, and a decision depends only on the events, not on the order they arrived in.

The window horizon. A decision on a message delivered at T looks back at most `DECISION_SPAN` (96 h: a
free-entry-point message answered within 24 h opens 72 h). The state keeps every time not older than
`HORIZON` = `DECISION_SPAN` + `LATENESS` (72 h) before the conversation's newest message, and at most
`MAX_TIMES` per list, so `decidable_from` (normally newest - `LATENESS`) is the earliest delivery time
whose decision the state still fully determines. A late message (one whose time is earlier than a
message already decided) re-decides every decided message delivered at or after `decidable_from`: the
rater appends a reversal and a corrected line (pricing/rating.py). Decisions on messages delivered
earlier stand, and the late message is counted (`omnimeter_whatsapp_late_past_horizon_total`).
"""

from __future__ import annotations

import bisect
import json
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
FEP_REPLY_WITHIN = timedelta(hours=24)
FEP_WINDOW = timedelta(hours=72)
FREE_ENTRY_POINTS = frozenset({"ctwa_ad", "page_cta", "click_to_whatsapp", "fb_page_cta"})


SERVICE = "service"  # the category of a non-template (free-form) message


class FreeReason(StrEnum):
    CUSTOMER_SERVICE_WINDOW = "customer_service_window"
    FREE_ENTRY_POINT = "free_entry_point"
    PROVIDER_FREE = "provider_not_billable"


DECISION_SPAN = FEP_REPLY_WITHIN + FEP_WINDOW  # how far back a decision looks
LATENESS = timedelta(hours=72)  # how late a message may arrive and still correct decisions
HORIZON = DECISION_SPAN + LATENESS  # what the state keeps, before the conversation's newest message
MAX_TIMES = 64


@dataclass(frozen=True, slots=True)
class Rules:
    """Which categories are free in which window, and whether service messages are charged (a book's
    `BillingPolicy.whatsapp`, dated by the book's effective_from). Defaults: Meta's 2025-07-01 rules."""

    free_in_service_window: frozenset[str] = frozenset({"utility", SERVICE})
    free_in_entry_point_window: frozenset[str] | None = None  # None: every category
    charge_service_messages: bool = False  # False: service messages give no billable line at all


RULES_2025_07 = Rules()


@dataclass(frozen=True, slots=True)
class WindowState:
    inbound: tuple[datetime, ...] = ()  # customer messages
    fep_inbound: tuple[datetime, ...] = ()  # customer messages through a free entry point
    outbound: tuple[datetime, ...] = ()  # business messages

    @property
    def newest(self) -> datetime | None:
        """The conversation's newest message time (lists are sorted)."""
        last = [ts[-1] for ts in (self.inbound, self.fep_inbound, self.outbound) if ts]
        return max(last) if last else None

    def decidable_from(self) -> datetime | None:
        """The earliest delivery time whose decision this state fully determines: every time a decision
        there looks at (`DECISION_SPAN` back) is kept. None for an empty state."""
        newest = self.newest
        if newest is None:
            return None
        floor = newest - LATENESS
        for ts in (self.inbound, self.fep_inbound, self.outbound):
            if len(ts) >= MAX_TIMES:  # times older than the oldest kept may have been dropped
                floor = max(floor, ts[0] + DECISION_SPAN)
        return floor

    def to_bytes(self) -> bytes:
        """The changelog form: a format byte, the three list lengths, then every time as little-endian
        int64 microseconds since the epoch (several times cheaper to write than JSON, and written once
        per WhatsApp message)."""
        times = [_micros(t) for k in _LISTS for t in getattr(self, k)]
        return _FORMAT + struct.pack(
            f"<3H{len(times)}q", len(self.inbound), len(self.fep_inbound), len(self.outbound), *times
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> WindowState:
        """Reads `to_bytes`, and the JSON object of ISO 8601 times that earlier builds wrote."""
        if raw[:1] == b"{":
            d = json.loads(raw)
            return cls(*(tuple(datetime.fromisoformat(t) for t in d.get(k, ())) for k in _LISTS))
        if raw[:1] != _FORMAT:
            raise ValueError(f"unknown window state format {raw[:1]!r}")
        sizes = struct.unpack_from("<3H", raw, 1)
        times = [_EPOCH + timedelta(microseconds=v) for v in struct.unpack_from(f"<{sum(sizes)}q", raw, 7)]
        a, b = sizes[0], sizes[0] + sizes[1]
        return cls(tuple(times[:a]), tuple(times[a:b]), tuple(times[b:]))


_LISTS = ("inbound", "fep_inbound", "outbound")
_FORMAT = b"\x01"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MICROS: dict[datetime, int] = {}  # a state is written again with every message: its times were seen before


def _micros(t: datetime) -> int:
    """Microseconds since the epoch, remembered per time: an aware difference is ~1 µs (two UTC offsets
    looked up), a dict hit is ~0.06 µs (datetimes cache their hash)."""
    found = _MICROS.get(t)
    if found is None:
        if len(_MICROS) >= 200_000:
            _MICROS.clear()
        found = _MICROS[t] = (t - _EPOCH) // _MICROSECOND
    return found


def _add(state: WindowState, kind: int, at: datetime) -> WindowState:
    """`state` with `at` added to list `kind` (0 inbound, 1 fep_inbound, 2 outbound), every list pruned to
    `HORIZON` before the conversation's newest time and to its `MAX_TIMES` newest: the result is the same
    whatever order times are added in. (Called once per WhatsApp message: built without `replace`.)"""
    lists = [state.inbound, state.fep_inbound, state.outbound]
    times = lists[kind]
    if at in times:
        return state
    newest = state.newest
    if newest is None or at > newest:  # the usual case: the newest message so far
        floor = at - HORIZON
        for k, ts in enumerate(lists):
            if ts and ts[0] < floor:
                lists[k] = tuple(t for t in ts if t >= floor)
        lists[kind] = (*lists[kind], at)[-MAX_TIMES:]
        return WindowState(*lists)
    if at < newest - HORIZON:
        return state  # past the horizon: it cannot change any decision the state still determines
    merged = list(times)
    bisect.insort(merged, at)
    lists[kind] = tuple(merged[-MAX_TIMES:])
    return WindowState(*lists)


@dataclass(frozen=True, slots=True)
class Decision:
    charged: bool
    category: str  # template category charged or waived; "" when not a template
    free_reason: str = ""


def inbound(state: WindowState, at: datetime, entry_point: str | None = None) -> WindowState:
    """A customer's message: opens a customer-service window; through a free entry point, may open more."""
    state = _add(state, 0, at)
    if entry_point and entry_point.lower() in FREE_ENTRY_POINTS:
        state = _add(state, 1, at)
    return state


def outbound(state: WindowState, at: datetime) -> WindowState:
    """A business message (its time may answer a free-entry-point message)."""
    return _add(state, 2, at)


def fep_window_start(state: WindowState, at: datetime) -> datetime | None:
    """Start of a free-entry-point window open at `at`: the business's first answer within 24 h of a
    free-entry-point message; the window lasts 72 h from that answer."""
    for f in state.fep_inbound:
        answer = next((o for o in state.outbound if f <= o <= f + FEP_REPLY_WITHIN), None)
        if answer is not None and answer <= at < answer + FEP_WINDOW:
            return answer
    return None


def in_fep_window(state: WindowState, at: datetime) -> bool:
    return fep_window_start(state, at) is not None


def in_service_window(state: WindowState, at: datetime) -> bool:
    return any(t <= at < t + CUSTOMER_SERVICE_WINDOW for t in state.inbound)


def provider_decided(provider_type: str | None = None, provider_billable: bool | None = None) -> bool:
    """Whether the provider's pricing object decides the message (then no window can change it)."""
    return provider_billable is False or provider_type in ("free_customer_service", "free_entry_point", "regular")


def template_delivered(
    state: WindowState,
    at: datetime,
    category: str,
    provider_type: str | None = None,
    provider_category: str | None = None,
    provider_billable: bool | None = None,
    rules: Rules = RULES_2025_07,
) -> Decision:
    """Whether a message of `category` (a template category, or `SERVICE`) delivered at `at` is charged,
    and if not, why. `state` holds the conversation's messages (this one's own send included, as an
    answer may open a free-entry-point window)."""
    cat = provider_category or category
    if provider_billable is False:
        return Decision(False, cat, FreeReason.PROVIDER_FREE)
    if provider_type == "free_customer_service":
        return Decision(False, cat, FreeReason.CUSTOMER_SERVICE_WINDOW)
    if provider_type == "free_entry_point":
        return Decision(False, cat, FreeReason.FREE_ENTRY_POINT)
    if provider_type == "regular":
        return Decision(True, cat)
    fep_free = rules.free_in_entry_point_window
    if (fep_free is None or cat in fep_free) and in_fep_window(state, at):
        return Decision(False, cat, FreeReason.FREE_ENTRY_POINT)
    if cat in rules.free_in_service_window and in_service_window(state, at):
        return Decision(False, cat, FreeReason.CUSTOMER_SERVICE_WINDOW)
    return Decision(True, cat)
