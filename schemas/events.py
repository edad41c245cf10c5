"""The CloudEvents 1.0 envelope and the `data` model of every usage event type (DESIGN.md section 2).

Models are frozen. `data` models keep unknown extra fields (producers may send more than we read);
the envelope keeps CloudEvents extension attributes. `UsageEvent` is the discriminated union on `type`:
an unknown type is rejected with the reason ``unknown_type``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, TypeAdapter

from omnimeter.schemas.bounds import MAX_BODY_CHARS, MAX_DURATION_S, MAX_PARTICIPANTS, MAX_SEGMENTS
from omnimeter.schemas.types import (
    CallDirection,
    Channel,
    ProviderCategory,
    Rfc3339,
    SenderKind,
    SmsEncoding,
    TemplateCategory,
)

NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
# Numbers and booleans are strict: JSON `true`, `"30"` or `30.0` where an integer is required (or `"yes"`
# where a boolean is) are refused with the field named, so raw_events keeps exactly what was sent.
Duration = Annotated[int, Strict(), Field(ge=0, le=MAX_DURATION_S)]
Flag = Annotated[bool, Strict()]


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class Template(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")
    name: NonEmpty
    category: TemplateCategory


class ProviderPricing(BaseModel):
    """Pricing as reported by the provider (e.g. WhatsApp webhooks); it wins over computed windows."""

    model_config = ConfigDict(frozen=True, extra="allow")
    pricing_model: str | None = None
    category: ProviderCategory | None = None
    type: Literal["regular", "free_customer_service", "free_entry_point"] | None = None
    billable: Flag | None = None


class ProviderPrice(BaseModel):
    """What the provider charged the platform for this message or call, as its status callback reports it
    (Twilio's ``Price``/``PriceUnit``, given as a non-negative amount). It wins over the cost book."""

    model_config = ConfigDict(frozen=True, extra="allow")
    # a decimal string, exact (a JSON number would pass through a binary float): at most 7 integer digits;
    # a leading minus (Twilio's "-0.00830") is what was charged all the same
    amount: Annotated[str, StringConstraints(pattern=r"^-?[0-9]{1,7}(\.[0-9]{1,6})?$")]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class _MessageCommon(_Data):
    channel: Channel
    account: NonEmpty
    contact: NonEmpty
    sender_kind: SenderKind | None = None
    message_id: NonEmpty | None = None
    user_id: NonEmpty | None = None
    team: NonEmpty | None = None
    queue: NonEmpty | None = None
    bot_id: NonEmpty | None = None
    campaign: NonEmpty | None = None
    body: str | None = Field(default=None, max_length=MAX_BODY_CHARS)
    segments: Annotated[int, Strict(), Field(ge=1, le=MAX_SEGMENTS)] | None = None
    encoding: SmsEncoding | None = None
    country: Country | None = None
    calling_code: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{1,15}$")] | None = None
    template: Template | None = None
    pricing: ProviderPricing | None = None
    supplier: NonEmpty | None = None  # the supplier that carried it (its cost book prices it)
    provider_price: ProviderPrice | None = None


class MessageSentData(_MessageCommon):
    sender_kind: SenderKind


class MessageDeliveredData(_MessageCommon):
    message_id: NonEmpty


class MessageFailedData(_MessageCommon):
    message_id: NonEmpty
    error: str | dict[str, Any] | None = None


class MessageReceivedData(_Data):
    channel: Channel
    account: NonEmpty
    contact: NonEmpty
    entry_point: NonEmpty | None = None
    user_id: NonEmpty | None = None
    queue: NonEmpty | None = None
    message_id: NonEmpty | None = None
    country: Country | None = None


class CallCompletedData(_Data):
    direction: CallDirection
    account: NonEmpty
    contact: NonEmpty
    answered: Flag
    duration_s: Duration
    call_id: NonEmpty | None = None
    user_id: NonEmpty | None = None
    queue: NonEmpty | None = None
    country: Country | None = None
    supplier: NonEmpty | None = None
    provider_price: ProviderPrice | None = None


class VideoCallCompletedData(_Data):
    duration_s: Duration
    user_id: NonEmpty | None = None
    participants: Annotated[int, Strict(), Field(ge=0, le=MAX_PARTICIPANTS)] | None = None
    call_id: NonEmpty | None = None


class BotTurnData(_Data):
    bot_id: NonEmpty
    channel: Channel | None = None
    conversation_id: NonEmpty | None = None
    api_only: Flag = False


class SeatActiveData(_Data):
    user_id: NonEmpty
    role: NonEmpty


class _Envelope(BaseModel):
    """CloudEvents 1.0 structured-mode envelope. `subject` is the tenant id; (subject, source, id) is
    the identity of a usage event: a resend keeps it and is dropped as a duplicate."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"]
    id: NonEmpty
    source: NonEmpty
    time: Rfc3339
    subject: NonEmpty
    datacontenttype: Literal["application/json"] = "application/json"
    if TYPE_CHECKING:  # declared by each event type below (as a Literal and its data model)
        type: str
        data: BaseModel

    @property
    def tenant_id(self) -> str:
        return self.subject

    @property
    def extensions(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def channel(self) -> str:
        """The channel the event is reported under: the data's channel, else the one its type implies
        (voice, video, bot, seat)."""
        ch = data_field(self.data, "channel")
        if ch is not None:
            return str(ch.value if hasattr(ch, "value") else ch)
        return _CHANNEL_BY_TYPE.get(self.type, "")


def data_field(data: BaseModel, name: str) -> Any:
    """`getattr(data, name, None)` without pydantic's slow path for a missing attribute (an exception
    per call): a declared field, else an extra field the producer sent, else None."""
    value = data.__dict__.get(name)
    if value is None and data.__pydantic_extra__:
        value = data.__pydantic_extra__.get(name)
    return value


_CHANNEL_BY_TYPE = {
    "call.completed": "voice",
    "video_call.completed": "video",
    "seat.active": "seat",
    "bot.turn": "bot",
}


class MessageSent(_Envelope):
    type: Literal["message.sent"]
    data: MessageSentData


class MessageDelivered(_Envelope):
    type: Literal["message.delivered"]
    data: MessageDeliveredData


class MessageFailed(_Envelope):
    type: Literal["message.failed"]
    data: MessageFailedData


class MessageReceived(_Envelope):
    type: Literal["message.received"]
    data: MessageReceivedData


class CallCompleted(_Envelope):
    type: Literal["call.completed"]
    data: CallCompletedData


class VideoCallCompleted(_Envelope):
    type: Literal["video_call.completed"]
    data: VideoCallCompletedData


class BotTurn(_Envelope):
    type: Literal["bot.turn"]
    data: BotTurnData


class SeatActive(_Envelope):
    type: Literal["seat.active"]
    data: SeatActiveData


UsageEvent = Annotated[
    MessageSent
    | MessageDelivered
    | MessageFailed
    | MessageReceived
    | CallCompleted
    | VideoCallCompleted
    | BotTurn
    | SeatActive,
    Field(discriminator="type"),
]

USAGE_EVENT: TypeAdapter[UsageEvent] = TypeAdapter(UsageEvent)
USAGE_EVENTS: TypeAdapter[list[UsageEvent]] = TypeAdapter(list[UsageEvent])
