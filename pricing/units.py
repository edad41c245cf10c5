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
from omnimeter.schemas.events import (
    CallCompletedData,
    MessageDeliveredData,
    MessageFailedData,
    MessageReceivedData,
    MessageSentData,
    SeatActiveData,
    UsageEvent,
    VideoCallCompletedData,
)
from omnimeter.schemas.types import SmsEncoding

CHAT_CHANNELS = frozenset({"webchat", "messenger", "instagram", "telegram"})
MESSAGE_DATA = (MessageSentData, MessageDeliveredData, MessageFailedData, MessageReceivedData)
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
    by_window: bool = False  # a WhatsApp decision made by the conversation's windows (a late message may change it)


def conversation_key(event: UsageEvent) -> tuple[str, str, str] | None:
    """The WhatsApp conversation an event belongs to, or None when it is not a WhatsApp message."""
    data = event.data
    if isinstance(data, MESSAGE_DATA) and data.channel == "whatsapp":
        return (event.subject, data.account, data.contact)
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
    if isinstance(d, MESSAGE_DATA):
        channel = str(d.channel)
        country = getattr(d, "country", None)
        if t == "message.received":
            lines = [Usage(f"{channel}.inbound.messages", one, "messages", country=country)]
            if channel in CHAT_CHANNELS:
                lines.append(Usage("chat.user.messages", one, "messages"))
            elif channel == "voice_assistant":
                lines.append(Usage("voice_assistant.user.messages", one, "messages"))
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
        elif channel in CHAT_CHANNELS and isinstance(d, MessageSentData):
            kind = "bot" if d.sender_kind == "bot" else "operator"
            lines.append(Usage(f"chat.{kind}.messages", one, "messages"))
        elif channel == "voice_assistant" and isinstance(d, MessageSentData):
            kind = "bot" if d.sender_kind == "bot" else "operator"  # bot: notifications by the assistant
            lines.append(Usage(f"voice_assistant.{kind}.messages", one, "messages"))
        if channel != "whatsapp":
            return window, lines
        state = update_window(window or whatsapp.WindowState(), event)
        template = getattr(d, "template", None)
        rules = policy.whatsapp.rules
        if t == "message.delivered" and (template is not None or rules.charge_service_messages):
            p = getattr(d, "pricing", None)
            provider_type, provider_billable = (p.type, p.billable) if p else (None, None)
            dec = whatsapp.template_delivered(
                state,
                event.time,
                template.category.value if template is not None else whatsapp.SERVICE,
                provider_type=provider_type,
                provider_category=p.category if p and template is not None else None,
                provider_billable=provider_billable,
                rules=rules,
            )
            meter = f"whatsapp.template.{dec.category}" if template is not None else "whatsapp.service.messages"
            lines.append(
                Usage(
                    meter,
                    one,
                    "messages",
                    free_reason=dec.free_reason,
                    country=country,
                    number=getattr(d, "contact", None),
                    by_window=not whatsapp.provider_decided(provider_type, provider_billable),
                )
            )
        return state, lines
    if isinstance(d, CallCompletedData):
        inc = policy.increment_for(d.direction)
        secs = inc.billable(d.duration_s, d.answered, policy.bill_unanswered)
        connected = d.answered and d.duration_s > 0
        not_connected = "unanswered" if not d.answered else "zero_duration"
        return window, [
            Usage(
                f"voice.{d.direction.value}.seconds",
                Decimal(secs),
                "seconds",
                free_reason="" if secs else not_connected,
                country=d.country,
                number=d.contact,
                connection=connected,
            ),
            # an attempt is counted; it is charged only when it connected (or the book bills attempts)
            Usage(
                "voice.calls",
                one,
                "calls",
                country=d.country,
                free_reason="" if connected or policy.bill_unanswered else not_connected,
            ),
        ]
    if isinstance(d, VideoCallCompletedData):
        minutes = math.ceil(d.duration_s / 60)
        return window, [Usage("video.minutes", Decimal(minutes), "minutes")]
    if t == "bot.turn":
        return window, [Usage("bot.billable_messages", one, "messages")]
    if isinstance(d, SeatActiveData):
        return window, [Usage(f"seats.active.{d.role}", one, "users", seat_user=d.user_id)]
    return window, []


def _sms_segments(event: UsageEvent) -> Decimal:
    d = event.data
    segments = getattr(d, "segments", None)
    if segments:
        return Decimal(segments)
    body = getattr(d, "body", None)
    if body is None:
        return Decimal(1)
    enc = getattr(d, "encoding", None)
    return Decimal(segment(body, SmsEncoding(enc) if enc else None).segments)
