"""WhatsApp per-message pricing (Meta, since 2025-07-01), as a pure state machine per conversation
(tenant, business account, contact).

* Only delivered template messages are charged, by template category and recipient country.
* Marketing and authentication templates are always charged; utility templates are free inside an open
  customer-service window (24 h from the customer's last inbound message).
* Everything is free inside a free-entry-point window: when a customer writes through a free entry point
  (click-to-WhatsApp ad, Facebook page call-to-action) and the business answers within 24 h, the next
  72 h from that answer are free.
* Provider-reported pricing (the webhook's ``pricing`` object) wins over the computed windows.

The state of a conversation is the set of recent message times (customer messages, free-entry-point
messages, business messages), merged as a set union: applying an event twice, or events in any order,
gives the same state, and a decision depends only on the events, not on the order they arrived in.
That makes replays after a crash and offline re-rating give the same decisions as the stream.
State is pruned to the times that can still matter (`HORIZON` before the newest), bounded per list.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
FEP_REPLY_WITHIN = timedelta(hours=24)
FEP_WINDOW = timedelta(hours=72)
FREE_ENTRY_POINTS = frozenset({"ctwa_ad", "page_cta", "click_to_whatsapp", "fb_page_cta"})


class FreeReason(StrEnum):
    CUSTOMER_SERVICE_WINDOW = "customer_service_window"
    FREE_ENTRY_POINT = "free_entry_point"
    PROVIDER_FREE = "provider_not_billable"


HORIZON = FEP_REPLY_WITHIN + FEP_WINDOW + timedelta(hours=24)
MAX_TIMES = 64


@dataclass(frozen=True, slots=True)
class WindowState:
    inbound: tuple[datetime, ...] = ()  # customer messages
    fep_inbound: tuple[datetime, ...] = ()  # customer messages through a free entry point
    outbound: tuple[datetime, ...] = ()  # business messages

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


def _merge(times: tuple[datetime, ...], at: datetime) -> tuple[datetime, ...]:
    if at in times:
        return times
    merged = sorted((*times, at))
    newest = merged[-1]
    kept = [t for t in merged if t >= newest - HORIZON]
    return tuple(kept[-MAX_TIMES:])


@dataclass(frozen=True, slots=True)
class Decision:
    charged: bool
    category: str  # template category charged or waived; "" when not a template
    free_reason: str = ""


def inbound(state: WindowState, at: datetime, entry_point: str | None = None) -> WindowState:
    """A customer's message: opens a customer-service window; through a free entry point, may open more."""
    state = replace(state, inbound=_merge(state.inbound, at))
    if entry_point and entry_point.lower() in FREE_ENTRY_POINTS:
        state = replace(state, fep_inbound=_merge(state.fep_inbound, at))
    return state


def outbound(state: WindowState, at: datetime) -> WindowState:
    """A business message (its time may answer a free-entry-point message)."""
    return replace(state, outbound=_merge(state.outbound, at))


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


def template_delivered(
    state: WindowState,
    at: datetime,
    category: str,
    provider_type: str | None = None,
    provider_category: str | None = None,
    provider_billable: bool | None = None,
) -> Decision:
    """Whether a template delivered at `at` is charged, and if not, why. `state` holds the conversation's
    messages (this one's own send included, as an answer may open a free-entry-point window)."""
    cat = provider_category or category
    if provider_billable is False:
        return Decision(False, cat, FreeReason.PROVIDER_FREE)
    if provider_type == "free_customer_service":
        return Decision(False, cat, FreeReason.CUSTOMER_SERVICE_WINDOW)
    if provider_type == "free_entry_point":
        return Decision(False, cat, FreeReason.FREE_ENTRY_POINT)
    if provider_type == "regular":
        return Decision(True, cat)
    if in_fep_window(state, at):
        return Decision(False, cat, FreeReason.FREE_ENTRY_POINT)
    if cat == "utility" and in_service_window(state, at):
        return Decision(False, cat, FreeReason.CUSTOMER_SERVICE_WINDOW)
    return Decision(True, cat)
