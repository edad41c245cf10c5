"""Closed vocabularies of the usage event contract (DESIGN.md section 2)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator

# RFC 3339 date-time: full date, 'T' (or space, as RFC 3339 allows), time, optional fraction, Z or offset.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _require_rfc3339(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 timestamp with offset, e.g. 2026-11-22T10:15:00Z")
    return value


Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_require_rfc3339)]


class EventType(StrEnum):
    MESSAGE_SENT = "message.sent"
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_FAILED = "message.failed"
    MESSAGE_RECEIVED = "message.received"
    CALL_COMPLETED = "call.completed"
    VIDEO_CALL_COMPLETED = "video_call.completed"
    BOT_TURN = "bot.turn"
    SEAT_ACTIVE = "seat.active"


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    SMS = "sms"
    VIBER = "viber"
    EMAIL = "email"
    PUSH = "push"
    WEBCHAT = "webchat"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    TELEGRAM = "telegram"
    VOICE_ASSISTANT = "voice_assistant"  # messages with a voice assistant (the reseller seed's "Alice" columns)


class SenderKind(StrEnum):
    OPERATOR = "operator"
    BOT = "bot"
    SYSTEM = "system"
    CAMPAIGN = "campaign"


class TemplateCategory(StrEnum):
    MARKETING = "marketing"
    UTILITY = "utility"
    AUTHENTICATION = "authentication"
    AUTHENTICATION_INTERNATIONAL = "authentication_international"
    MARKETING_LITE = "marketing_lite"


class ProviderCategory(StrEnum):
    """Categories a provider reports on a message's pricing (Meta's webhook `pricing.category`); any
    other value dead-letters the event (it would name an unknown meter)."""

    MARKETING = "marketing"
    UTILITY = "utility"
    AUTHENTICATION = "authentication"
    AUTHENTICATION_INTERNATIONAL = "authentication_international"
    MARKETING_LITE = "marketing_lite"
    SERVICE = "service"
    REFERRAL_CONVERSION = "referral_conversion"


class CallDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class SmsEncoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


class Period(StrEnum):
    MONTHLY = "monthly"
    YEARLY = "yearly"
