"""Which meters make up each service of the reports, and what a line costs whom.

Count meters (`<channel>.outbound.sent|delivered|failed`, `<channel>.inbound.messages` other than SMS,
`voice.calls`) are statistics, not services: they feed the WhatsApp and reseller reports. Every priced
meter belongs to a service, so the services' total is every line's amount (what the lines report sums).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    name: str
    unit: str
    meters: tuple[str, ...] = ()
    prefix: str = ""

    def has(self, meter: str) -> bool:
        return meter in self.meters or bool(self.prefix and meter.startswith(self.prefix))


SERVICES: tuple[Service, ...] = (
    Service("outgoing_sms", "segments", ("sms.outbound.segments",)),
    Service("incoming_sms", "messages", ("sms.inbound.messages",)),
    Service("outgoing_email", "messages", ("email.outbound.messages",)),
    Service("whatsapp", "messages", ("whatsapp.service.messages",), prefix="whatsapp.template."),
    Service("calls", "seconds", ("voice.outbound.seconds", "voice.inbound.seconds")),
    Service("video_calls", "minutes", ("video.minutes",)),
    Service("bot", "messages", ("bot.billable_messages", "chat.bot.messages")),
    Service("chat", "messages", ("chat.operator.messages", "chat.user.messages")),
    Service(
        "voice_assistant",
        "messages",
        ("voice_assistant.operator.messages", "voice_assistant.bot.messages", "voice_assistant.user.messages"),
    ),
    Service("push", "messages", ("push.outbound.messages",)),
    Service("viber", "messages", ("viber.outbound.messages",)),
    Service("seats", "users", prefix="seats.active."),
)
CARRIER_PREFIXES = ("sms.", "whatsapp.template.", "voice.")  # what a prepaid carrier credit pays for


def service_of(meter: str) -> Service | None:
    for s in SERVICES:
        if s.has(meter):
            return s
    return None
