"""Human labels for the ids reports use (services, meters, units, channels, columns): the one catalogue
the dashboard reads. Reports themselves keep the ids (the API and CSV are a contract); only what a person
reads goes through here. An id without an entry gets a readable fallback (underscores and dots to
spaces), never an error.
"""

from __future__ import annotations

SERVICES: dict[str, str] = {
    "outgoing_sms": "Outgoing SMS",
    "incoming_sms": "Incoming SMS",
    "outgoing_email": "Outgoing email",
    "whatsapp": "WhatsApp",
    "calls": "Calls",
    "video_calls": "Video calls",
    "bot": "Bot",
    "chat": "Chat",
    "voice_assistant": "Voice assistant",
    "push": "Push notifications",
    "viber": "Viber",
    "seats": "Seats",
}

CHANNELS: dict[str, str] = {
    "sms": "SMS",
    "webchat": "Web chat",
    "seat": "Seat",
    "whatsapp": "WhatsApp",
    "email": "Email",
    "voice": "Voice",
    "video": "Video",
    "chat": "Chat",
    "bot": "Bot",
    "push": "Push",
    "viber": "Viber",
    "voice_assistant": "Voice assistant",
    "seats": "Seats",
}

METERS: dict[str, str] = {
    "sms.outbound.segments": "SMS segments sent",
    "sms.inbound.messages": "SMS received",
    "email.outbound.messages": "Emails sent",
    "whatsapp.template.marketing": "WhatsApp marketing template",
    "whatsapp.template.utility": "WhatsApp utility template",
    "whatsapp.template.authentication": "WhatsApp authentication template",
    "whatsapp.service.messages": "WhatsApp service messages",
    "whatsapp.inbound.messages": "WhatsApp messages received",
    "voice.outbound.seconds": "Outbound calls",
    "voice.inbound.seconds": "Inbound calls",
    "voice.calls": "Calls (count)",
    "video.minutes": "Video call minutes",
    "bot.billable_messages": "Bot billable messages",
    "chat.bot.messages": "Chat bot messages",
    "chat.operator.messages": "Chat operator messages",
    "chat.user.messages": "Chat user messages",
    "push.outbound.messages": "Push notifications sent",
    "viber.outbound.messages": "Viber messages sent",
    "voice_assistant.operator.messages": "Voice assistant operator messages",
    "voice_assistant.bot.messages": "Voice assistant bot messages",
    "voice_assistant.user.messages": "Voice assistant user messages",
}

UNITS: dict[str, str] = {
    "segments": "segments",
    "messages": "messages",
    "seconds": "minutes",  # calls are shown in minutes, with the seconds beside them
    "minutes": "minutes",
    "users": "users",
}

ROLES: dict[str, str] = {"agent": "Agent", "supervisor": "Supervisor", "admin": "Administrator"}

MODELS: dict[str, str] = {
    "per_unit": "Per unit", "volume": "Volume tiers", "graduated": "Graduated tiers", "package": "Packages",
    "percent": "Percent", "flat": "Flat fee",
}  # fmt: skip

COLUMNS: dict[str, str] = {
    "tenant_id": "Tenant",
    "user_id": "User",
    "bot_id": "Bot",
    "company_id": "Company",
    "reseller_id": "Reseller",
    "billing_unit": "Billing unit",
    "channels_assigned": "Assigned",
    "billable_seconds": "Billable time",
    "last_activity": "Last activity",
    "lines_cost": "Lines cost",
    "change_percent": "Change",
    "previous_period": "Previous period",
    "previous_quantity": "Previous quantity",
    "previous_cost": "Previous cost",
    "share_percent": "Share",
    "used_percent": "Used",
    "cycle_start": "Cycle start",
    "cycle_end": "Cycle end",
    "days_elapsed": "Days elapsed",
    "days_total": "Days in cycle",
    "open_until": "Open until",
    "customer_service_windows": "Customer service windows",
    "free_entry_point_windows": "Free entry point windows",
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "email": "Email",
}

WORDS = {"sms": "SMS", "whatsapp": "WhatsApp", "viber": "Viber", "id": "ID", "csv": "CSV"}


def humanize(ident: str) -> str:
    """`price_whatsapp` -> "Price WhatsApp": a fallback for ids the catalogue does not name."""
    words = ident.replace(".", " ").replace("_", " ").split()
    out = [WORDS.get(w, w) for w in words]
    return " ".join(out)[:1].upper() + " ".join(out)[1:] if out else ident


def service(name: str) -> str:
    return SERVICES.get(name, humanize(name))


def meter(name: str) -> str:
    if name in METERS:
        return METERS[name]
    if name.endswith("."):  # a meter prefix (allocation's basis)
        return f"{humanize(name)} (every meter)"
    if name.startswith("seats.active."):
        return f"Seats ({ROLES.get(name.removeprefix('seats.active.'), humanize(name.removeprefix('seats.active.')))})"
    if name.startswith("whatsapp.template."):
        return f"WhatsApp {humanize(name.removeprefix('whatsapp.template.')).lower()} template"
    return humanize(name)


def unit(name: str) -> str:
    return UNITS.get(name, humanize(name))


def channel(name: str) -> str:
    return CHANNELS.get(name, humanize(name))


def column(name: str) -> str:
    return COLUMNS.get(name, humanize(name))


def role(name: str) -> str:
    return ROLES.get(name, humanize(name))


def model(name: str) -> str:
    """A charge model, or both parties' (`per_unit/volume`: the platform's, then the reseller's)."""
    return " / ".join(MODELS.get(m, humanize(m)) for m in name.split("/"))


def channels(names: str) -> str:
    return ", ".join(channel(n) for n in names.split(",") if n)


KINDS: dict[str, str] = {  # alert kinds (schemas/alerts.py) and cycle warnings
    "cycle_spend": "Cycle spend",
    "commitment": "Commitment",
    "credit": "Carrier credit",
    "prefix_spend": "Spend per destination prefix",
    "pumping": "Traffic pumping",
}


def kind(name: str) -> str:
    return KINDS.get(name) or humanize(name)


BY_COLUMN = {
    "service": service, "meter": meter, "unit": unit, "channel": channel, "role": role, "model": model,
    "channels": channels, "category": humanize, "reason": humanize, "direction": humanize, "section": humanize,
    "by": column, "period_kind": humanize, "kind": kind,
}  # fmt: skip


def value(col: str, raw: str) -> str:
    """The label of a cell of column `col`, or the value itself for columns of free text."""
    label = BY_COLUMN.get(col)
    return label(raw) if label and raw else raw
