"""Billable units: what one usage event counts under each meter (DESIGN.md section 3).

`classify` is pure: given the event, the book's billing policy and the WhatsApp window state of the
event's conversation, it returns the new window state and the meter lines. Counts for reports
(`<channel>.outbound.sent|delivered|failed`, `<channel>.inbound.messages`, `voice.calls`) are emitted
beside the billed meters; whether a count is priced is up to the book.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from omnimeter.pricing import whatsapp
from omnimeter.pricing.books import BillingPolicy
from omnimeter.pricing.sms import segment
from omnimeter.schemas.events import UsageEvent
from omnimeter.schemas.types import SmsEncoding

CHAT_CHANNELS = frozenset({"webchat", "messenger", "instagram", "telegram"})
STATUS = {"message.sent": "sent", "message.delivered": "delivered", "message.failed": "failed"}


class Usage(NamedTuple):
    meter: str
    quantity: Decimal
    unit: str
    free_reason: str = ""
    country: str | None = None
    number: str | None = None  # destination, for calling-code rate decks
    connection: bool = False  # an answered call: the book's connection fee applies
    seat_user: str | None = None  # seats: counted once per user and cycle


def conversation_key(event: UsageEvent) -> tuple[str, str, str] | None:
    """The WhatsApp conversation an event belongs to, or None when it is not a WhatsApp message."""
    data = event.data
    if getattr(data, "channel", None) == "whatsapp" and event.type.startswith("message."):
        return (event.subject, data.account, data.contact)  # type: ignore[union-attr]
    return None


def update_window(state: whatsapp.WindowState, event: UsageEvent) -> whatsapp.WindowState:
    """The state change an event makes to its conversation's windows (idempotent)."""
    if event.type == "message.received":
        return whatsapp.inbound(state, event.time, getattr(event.data, "entry_point", None))
    if event.type in ("message.sent", "message.delivered"):
        return whatsapp.outbound(state, event.time)
    return state


def window_step(
    event: UsageEvent, current: Callable[[tuple[str, str, str]], whatsapp.WindowState | None]
) -> tuple[tuple[str, str, str], whatsapp.WindowState] | None:
    """The conversation an event belongs to and its window state after the event (None outside WhatsApp
    conversations). `current` looks up the state before it. The one place both the stream (as records
    arrive) and offline replays apply window changes."""
    key = conversation_key(event)
    if key is None:
        return None
    return key, update_window(current(key) or whatsapp.WindowState(), event)


def classify(
    event: UsageEvent, policy: BillingPolicy, window: whatsapp.WindowState | None = None
) -> tuple[whatsapp.WindowState | None, list[Usage]]:
    one = Decimal(1)
    d = event.data
    t = event.type
    if t in STATUS or t == "message.received":
        channel = str(d.channel)  # type: ignore[union-attr]
        country = getattr(d, "country", None)
        if t == "message.received":
            lines = [Usage(f"{channel}.inbound.messages", one, "messages", country=country)]
            if channel in CHAT_CHANNELS:
                lines.append(Usage("chat.user.messages", one, "messages"))
            new = update_window(window or whatsapp.WindowState(), event) if channel == "whatsapp" else window
            return new, lines
        status = STATUS[t]
        lines = [Usage(f"{channel}.outbound.{status}", one, "messages", country=country)]
        if channel == "sms" and status == policy.billed_on("sms"):
            lines.append(
                Usage(
                    "sms.outbound.segments",
                    _sms_segments(event),
                    "segments",
                    country=country,
                    number=getattr(d, "calling_code", None) or getattr(d, "contact", None),
                )
            )
        elif channel in ("email", "push", "viber") and status == policy.billed_on(channel):
            lines.append(Usage(f"{channel}.outbound.messages", one, "messages", country=country))
        elif channel in CHAT_CHANNELS and t == "message.sent":
            kind = "bot" if d.sender_kind == "bot" else "operator"  # type: ignore[union-attr]
            lines.append(Usage(f"chat.{kind}.messages", one, "messages"))
        if channel != "whatsapp":
            return window, lines
        state = update_window(window or whatsapp.WindowState(), event)
        template = getattr(d, "template", None)
        if t == "message.delivered" and template is not None:
            p = getattr(d, "pricing", None)
            dec = whatsapp.template_delivered(
                state,
                event.time,
                template.category.value,
                provider_type=p.type if p else None,
                provider_category=p.category if p else None,
                provider_billable=p.billable if p else None,
            )
            lines.append(
                Usage(
                    f"whatsapp.template.{dec.category}",
                    one,
                    "messages",
                    free_reason=dec.free_reason,
                    country=country,
                    number=getattr(d, "contact", None),
                )
            )
        return state, lines
    if t == "call.completed":
        inc = policy.increment
        secs = inc.billable(d.duration_s, d.answered, policy.bill_unanswered)  # type: ignore[union-attr]
        direction = d.direction.value  # type: ignore[union-attr]
        connected = d.answered and d.duration_s > 0  # type: ignore[union-attr]
        return window, [
            Usage(
                f"voice.{direction}.seconds",
                Decimal(secs),
                "seconds",
                free_reason="" if secs else ("unanswered" if not d.answered else "zero_duration"),  # type: ignore[union-attr]
                country=d.country,
                number=d.contact,
                connection=connected,
            ),  # type: ignore[union-attr]
            Usage("voice.calls", one, "calls", country=d.country),  # type: ignore[union-attr]
        ]
    if t == "video_call.completed":
        minutes = math.ceil(d.duration_s / 60)  # type: ignore[union-attr]
        return window, [Usage("video.minutes", Decimal(minutes), "minutes")]
    if t == "bot.turn":
        return window, [Usage("bot.billable_messages", one, "messages")]
    if t == "seat.active":
        return window, [Usage(f"seats.active.{d.role}", one, "users", seat_user=d.user_id)]  # type: ignore[union-attr]
    return window, []


def _sms_segments(event: UsageEvent) -> Decimal:
    d = event.data
    if getattr(d, "segments", None):
        return Decimal(d.segments)  # type: ignore[union-attr]
    body = getattr(d, "body", None)
    if body is None:
        return Decimal(1)
    enc = getattr(d, "encoding", None)
    return Decimal(segment(body, SmsEncoding(enc) if enc else None).segments)
