"""The meters: a closed vocabulary. Every billable line's meter is one of these, so price books are
checked against it, metric labels stay bounded, and no value a producer controls becomes a meter name.

Two kinds:
* counts, for reports (``<channel>.outbound.sent|delivered|failed``, ``<channel>.inbound.messages``,
  ``voice.calls``, ``chat.user.messages``): a book may price them; unpriced they are plain counts;
* billable meters (everything else): a charged line of a billable meter that no party's book prices is
  marked ``unpriced`` (free_reason) and counted by ``omnimeter_unpriced_lines_total``, never a silent 0.

Producer-controlled values map onto the vocabulary: a seat role that neither the directory nor a book
names counts as ``seats.active.other``; WhatsApp categories are validated enums (schemas/types.py), so an
unknown provider category dead-letters its event.
"""

from __future__ import annotations

import re

from omnimeter.schemas.types import CallDirection, Channel, ProviderCategory, TemplateCategory

CHANNELS = tuple(c.value for c in Channel)
CHAT_CHANNELS = frozenset({"webchat", "messenger", "instagram", "telegram"})
VOICE_ASSISTANT = "voice_assistant"  # its messages are metered apart from chat: operator, bot and user
STATUSES = ("sent", "delivered", "failed")
SEAT_PREFIX = "seats.active."
SEAT_OTHER = "seats.active.other"
UNPRICED = "unpriced"  # the free_reason of a charged line of a billable meter that no book prices
_ROLE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

COUNTS = frozenset(
    [f"{c}.outbound.{s}" for c in CHANNELS for s in STATUSES]
    + [f"{c}.inbound.messages" for c in CHANNELS]
    + ["voice.calls", "chat.user.messages"]
)
BILLABLE = frozenset(
    ["sms.outbound.segments", "video.minutes", "bot.billable_messages", "carrier.cost", "whatsapp.service.messages"]
    + [f"whatsapp.template.{c.value}" for c in TemplateCategory]
    + [f"whatsapp.template.{c.value}" for c in ProviderCategory]
    + [f"voice.{d.value}.seconds" for d in CallDirection]
    + [f"chat.{k}.messages" for k in ("operator", "bot")]
    + [f"{VOICE_ASSISTANT}.{k}.messages" for k in ("operator", "bot", "user")]
    + [f"{c}.outbound.messages" for c in ("email", "push", "viber")]
)


def seat_meter(role: str) -> str:
    return SEAT_PREFIX + role


def is_role(role: str) -> bool:
    """Whether `role` can name a seat meter (lower-case letters, digits, underscores)."""
    return bool(_ROLE.match(role))


def is_meter(meter: str) -> bool:
    if meter in COUNTS or meter in BILLABLE:
        return True
    return meter.startswith(SEAT_PREFIX) and is_role(meter[len(SEAT_PREFIX) :])


def is_billable(meter: str) -> bool:
    """A meter whose charged lines must be priced (counts need not be)."""
    return meter in BILLABLE or meter.startswith(SEAT_PREFIX)
