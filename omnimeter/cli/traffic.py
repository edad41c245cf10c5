"""Realistic usage traffic for a contact-center platform: the model behind `omnimeter simulate`.

A `World` is a set of tenants (direct and under resellers) with users in roles, business numbers per
channel, bots and queues. `Traffic` draws events from it: outbound messages on every channel (WhatsApp
templates by category, SMS with real text, email, push, Viber, web chat, a voice assistant), deliveries and failures,
customer replies, calls with realistic durations, video calls, bot turns and active seats. Everything is
seeded: the same seed gives the same events, ids included (a resend keeps its id).
Optionally it resends some events (duplicates) and emits malformed records, each with the reason the
worker must dead-letter it for.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ROLES = ("admin", "supervisor", "agent", "agent", "agent", "agent")
SMS_TEXTS = (
    "Your order #{n} has shipped.",
    "Hola! Tu cita es mañana a las 10:00. Responde SI para confirmar.",
    "Your verification code is {n}. Do not share it with anyone.",
    "Thanks for contacting us 😊 an agent will reply shortly.",
    "Reminder: your invoice {n} is due on Friday. Pay online at example.com/pay or call us; "
    "reply STOP to opt out. Questions? Our team is available 24/7 on WhatsApp and web chat.",
)
COUNTRIES = ("US", "CO", "MX", "BR", "ES", "GB", "IN", "AR")
CALLING_CODES = ("1", "57", "57", "57", "52", "55", "34", "91")
TEMPLATES = (
    ("order_update", "utility"),
    ("promo_week", "marketing"),
    ("otp_login", "authentication"),
    ("appointment", "utility"),
    ("winback", "marketing"),
)
NAMESPACE = uuid.UUID("6f1d8a52-3c55-4f4e-9a43-2b1e0c7a9d10")


@dataclass(frozen=True)
class Tenant:
    id: str
    reseller: str | None
    users: tuple[tuple[str, str], ...]  # (user id, role)
    accounts: dict[str, tuple[str, ...]]  # channel -> business numbers / sender ids / apps
    bots: tuple[str, ...]
    queues: tuple[str, ...]


@dataclass(frozen=True)
class World:
    tenants: tuple[Tenant, ...]


def build_world(seed: int = 7, tenants: int = 6, users_per_tenant: int = 12) -> World:
    rnd = random.Random(seed)
    out = []
    for t in range(tenants):
        tid = f"tenant-{t + 1:03d}"
        reseller = None if t % 3 == 0 else f"reseller-{(t % 3):02d}"
        users = tuple((f"{tid}-u{u + 1:02d}", ROLES[u % len(ROLES)]) for u in range(users_per_tenant))
        base = 15550000000 + t * 1000
        accounts = {
            "whatsapp": (f"+{base + 1}", f"+{base + 2}"),
            "sms": (f"+{base + 3}", f"BRAND{t + 1}"),
            "viber": (f"viber-{tid}",),
            "email": (f"support@{tid}.example",),
            "push": (f"app-{tid}",),
            "webchat": (f"web-{tid}",),
            "voice_assistant": (f"assistant-{tid}",),
            "messenger": (f"page-{tid}",),
            "voice": (f"+{base + 5}", f"+{base + 6}"),
        }
        out.append(
            Tenant(tid, reseller, users, accounts, (f"{tid}-bot1", f"{tid}-bot2"), ("sales", "support", "billing"))
        )
        rnd.random()
    return World(tuple(out))


@dataclass
class Record:
    """One Kafka record to produce, with what the worker must make of it."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    valid_ids: list[tuple[str, str, str]] = field(default_factory=list)  # (tenant, source, id) first sends
    duplicate_ids: list[tuple[str, str, str]] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)  # expected reject reasons


class Traffic:
    def __init__(
        self, world: World, seed: int = 1, start: datetime | None = None, step: timedelta = timedelta(milliseconds=50)
    ) -> None:
        self.world = world
        self.rnd = random.Random(seed)
        self.seed = seed
        self.clock = start or datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
        self.step = step
        self.n = 0
        self.sent: list[dict[str, Any]] = []

    def _envelope(self, tenant: Tenant, source: str, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        self.clock += self.step * self.rnd.uniform(0.2, 1.8)
        eid = str(uuid.uuid5(NAMESPACE, f"{self.seed}:{self.n}"))
        env = {
            "specversion": "1.0",
            "id": eid,
            "source": source,
            "type": type_,
            "time": self.clock.isoformat(timespec="milliseconds"),
            "subject": tenant.id,
            "datacontenttype": "application/json",
            "data": data,
        }
        self.sent.append(env)
        return env

    def event(self) -> dict[str, Any]:
        r, t = self.rnd, self.rnd.choice(self.world.tenants)
        user, role = r.choice(t.users)
        # a small pool of customers per tenant, so conversations happen: replies, windows, follow-ups
        contact = f"+{r.choice(CALLING_CODES)}300{self.world.tenants.index(t):02d}{r.randint(0, 149):04d}"
        kind = r.choices(
            ["wa_out", "wa_in", "sms", "email", "push", "viber", "webchat", "call", "video", "bot", "seat"],
            weights=[22, 14, 16, 6, 5, 2, 10, 12, 2, 8, 3],
        )[0]
        if kind == "wa_out":
            data: dict[str, Any] = {
                "channel": "whatsapp",
                "account": r.choice(t.accounts["whatsapp"]),
                "contact": contact,
                "sender_kind": r.choice(["operator", "campaign", "bot"]),
                "message_id": f"wamid.{self.n}",
                "user_id": user,
                "country": r.choice(COUNTRIES),
            }
            if r.random() < 0.6:
                name, cat = r.choice(TEMPLATES)
                data["template"] = {"name": name, "category": cat}
                if r.random() < 0.05:  # some gateways forward Meta's own pricing verdict
                    free = cat == "utility" and r.random() < 0.5
                    data["pricing"] = {
                        "pricing_model": "PMP",
                        "category": cat,
                        "type": "free_customer_service" if free else "regular",
                    }
            typ = r.choices(["message.sent", "message.delivered", "message.failed"], [5, 4, 1])[0]
            if typ == "message.failed":
                data["error"] = {"code": 131026, "title": "Message undeliverable"}
            return self._envelope(t, "whatsapp-gateway", typ, data)
        if kind == "wa_in":
            data = {
                "channel": "whatsapp",
                "account": r.choice(t.accounts["whatsapp"]),
                "contact": contact,
                "queue": r.choice(t.queues),
            }
            if r.random() < 0.1:
                data["entry_point"] = "ctwa_ad"
            return self._envelope(t, "whatsapp-gateway", "message.received", data)
        if kind in ("sms", "email", "push", "viber"):
            data = {
                "channel": kind,
                "account": r.choice(t.accounts[kind]),
                "contact": contact,
                "sender_kind": r.choice(["operator", "system", "campaign"]),
                "message_id": f"m-{self.n}",
                "user_id": user,
                "country": r.choice(COUNTRIES),
            }
            if kind == "sms":
                data["body"] = r.choice(SMS_TEXTS).format(n=r.randint(1000, 999999))
            typ = "message.sent" if r.random() < 0.7 else "message.delivered"
            return self._envelope(t, f"{kind}-gateway", typ, data)
        if kind == "webchat" and r.random() < 0.3:  # a voice assistant's conversation (schemas: voice_assistant)
            sender = r.choice(["operator", "bot", "user"])
            data = {"channel": "voice_assistant", "account": t.accounts["voice_assistant"][0], "contact": contact}
            if sender == "user":
                return self._envelope(t, "assistant-service", "message.received", data)
            data.update({"sender_kind": sender, "message_id": f"va-{self.n}", "user_id": user})
            if sender == "bot":
                data["bot_id"] = r.choice(t.bots)
            return self._envelope(t, "assistant-service", "message.sent", data)
        if kind == "webchat":
            sender = r.choice(["operator", "bot", "operator"])
            data = {
                "channel": "webchat",
                "account": t.accounts["webchat"][0],
                "contact": f"visitor-{r.randint(1, 9999)}",
                "sender_kind": sender,
                "user_id": user,
                "queue": r.choice(t.queues),
            }
            if sender == "bot":
                data["bot_id"] = r.choice(t.bots)
            if r.random() < 0.4:
                inbound = {k: data[k] for k in ("channel", "account", "contact", "queue")}
                return self._envelope(t, "chat-service", "message.received", inbound)
            return self._envelope(t, "chat-service", "message.sent", data)
        if kind == "call":
            answered = r.random() < 0.8
            dur = int(r.expovariate(1 / 180)) if answered else 0
            return self._envelope(
                t,
                "telephony",
                "call.completed",
                {
                    "direction": r.choice(["inbound", "outbound"]),
                    "account": r.choice(t.accounts["voice"]),
                    "contact": contact,
                    "answered": answered,
                    "duration_s": dur,
                    "call_id": f"c-{self.n}",
                    "user_id": user,
                    "queue": r.choice(t.queues),
                    "country": r.choice(COUNTRIES),
                },
            )
        if kind == "video":
            return self._envelope(
                t,
                "video-service",
                "video_call.completed",
                {"duration_s": r.randint(30, 3600), "user_id": user, "participants": r.randint(2, 5)},
            )
        if kind == "bot":
            return self._envelope(
                t,
                "bot-service",
                "bot.turn",
                {
                    "bot_id": r.choice(t.bots),
                    "channel": r.choice(["whatsapp", "webchat"]),
                    "conversation_id": f"conv-{r.randint(1, 5000)}",
                    "api_only": r.random() < 0.1,
                },
            )
        return self._envelope(t, "agent-desktop", "seat.active", {"user_id": user, "role": role})

    def malformed(self) -> tuple[bytes, str]:
        """A bad record and the reason the worker must give for it."""
        r = self.rnd
        good = json.dumps(self.event()).encode()
        self.sent.pop()
        kinds = ["not_json", "not_utf8", "unknown_type", "missing_field", "invalid_field", "bad_time", "not_envelope"]
        k = r.choice(kinds)
        doc = json.loads(good)
        if k == "not_json":
            return good[: len(good) // 2], k
        if k == "not_utf8":
            return good[:20] + b"\xff\xfe" + good[20:], k
        if k == "unknown_type":
            doc["type"] = "message.teleported"
        elif k == "missing_field":
            doc["data"].pop(next(iter(_required(doc["type"]))))
        elif k == "invalid_field":
            doc["specversion"] = "0.3"
        elif k == "bad_time":
            doc["time"] = "yesterday at noon"
        else:
            return b"42", k
        return json.dumps(doc).encode(), k


def _required(type_: str) -> tuple[str, ...]:
    return {
        "message.sent": ("channel",),
        "message.delivered": ("message_id",),
        "message.failed": ("account",),
        "message.received": ("contact",),
        "call.completed": ("duration_s",),
        "video_call.completed": ("duration_s",),
        "bot.turn": ("bot_id",),
        "seat.active": ("role",),
    }[type_]


def records(
    traffic: Traffic,
    count: int,
    batch_size: int = 1,
    duplicate_rate: float = 0.0,
    malformed_rate: float = 0.0,
    batch_share: float | None = None,
) -> Iterator[Record]:
    """`count` events (first sends and resends) plus malformed records, as Kafka records.

    `batch_size` > 1 packs events of one tenant into batch records; `batch_share` mixes forms
    (that share of events goes in batches, the rest single). Duplicates resend an earlier event unchanged.
    """
    r = traffic.rnd
    share = (1.0 if batch_size > 1 else 0.0) if batch_share is None else batch_share
    pending: dict[str, list[dict[str, Any]]] = {}
    produced = 0
    while produced < count:
        if r.random() < malformed_rate:
            value, reason = traffic.malformed()
            headers = [("content-type", b"application/cloudevents+json")]
            yield Record(b"tenant-bad", value, headers, malformed=[reason])
            continue
        is_dup = bool(traffic.sent) and r.random() < duplicate_rate
        env = r.choice(traffic.sent[-2000:]) if is_dup else traffic.event()
        produced += 1
        key = (env["subject"], env["source"], env["id"])
        if batch_size > 1 and r.random() < share:
            bucket = pending.setdefault(env["subject"], [])
            bucket.append((env, is_dup, key))  # type: ignore[arg-type]
            if len(bucket) >= batch_size:
                yield _batch(env["subject"], pending.pop(env["subject"]))
            continue
        rec = Record(
            env["subject"].encode(), json.dumps(env).encode(), [("content-type", b"application/cloudevents+json")]
        )
        (rec.duplicate_ids if is_dup else rec.valid_ids).append(key)
        yield rec
    for tenant, bucket in pending.items():
        yield _batch(tenant, bucket)


def _batch(tenant: str, items: list[Any]) -> Record:
    rec = Record(
        tenant.encode(),
        json.dumps([env for env, _, _ in items]).encode(),
        [("content-type", b"application/cloudevents-batch+json")],
    )
    for _, is_dup, key in items:
        (rec.duplicate_ids if is_dup else rec.valid_ids).append(key)
    return rec


ZONES = ("America/Bogota", "America/Mexico_City", "UTC", "America/Sao_Paulo", "Europe/Madrid", "Asia/Kolkata")
SIGNUPS = ("2025-01-31", "2024-02-29", "2025-03-15", "2025-06-01", "2025-08-30", "2025-11-22")


def directory_doc(world: World) -> dict[str, Any]:
    """The directory (DESIGN.md section 4) that matches a generated world, as a YAML-ready document."""
    resellers = sorted({t.reseller for t in world.tenants if t.reseller})
    doc: dict[str, Any] = {
        "version": f"world-{len(world.tenants)}",
        # the platform's alert thresholds (schemas/directory.py AlertThresholds; a tenant's `alerts` overrides)
        "alerts": {
            "cycle_spend": ["1000.00", "5000.00"],
            "commitment_percent": [80, 100],
            "credit_percent": [80, 100],
            "prefix_daily_spend": "200.00",
            "pumping": {"baseline_days": 7, "factor": 5, "min_events": 50, "high_risk_min_events": 10},
        },
        "resellers": [{"id": r, "name": f"Reseller {r[-2:]}", "currency": "USD"} for r in resellers],
        "tenants": [],
        "billing_units": [],
        "users": [],
        "accounts": [],
        "teams": [],
        "queues": [],
        "bots": [],
    }
    for i, t in enumerate(world.tenants):
        units = [f"{t.id}-bu-{n}" for n in ("sales", "support", "ops")]
        doc["tenants"].append(
            {
                "id": t.id,
                "name": f"Company {i + 1}",
                "reseller": t.reseller,
                "currency": "USD",
                "timezone": ZONES[i % len(ZONES)],
                "signup": SIGNUPS[i % len(SIGNUPS)],
                "cycle": "yearly" if i % 5 == 4 else "monthly",
                "commitments": [{"meter": "whatsapp.template.marketing", "included": 500}],
                "carrier_credit": "250.00",
            }
        )
        doc["billing_units"] += [{"id": u, "tenant": t.id, "name": u.rsplit("-", 1)[1].title()} for u in units]
        for j, (uid, role) in enumerate(t.users):
            member = [units[j % 3]] if j % 4 else [units[0], units[1]]
            user: dict[str, Any] = {
                "id": uid,
                "tenant": t.id,
                "name": f"User {j + 1} of {t.id}",
                "email": f"{uid}@{t.id}.example",
                "role": role,
                "channels": ["whatsapp", "webchat", "voice"][: 1 + j % 3],
                "team": f"{t.id}-team-{j % 2 + 1}",
                "billing_units": member,
            }
            if j % 8 == 0:
                user["weights"] = {units[0]: 3, units[1]: 1}
            doc["users"].append(user)
        for k, (channel, accounts) in enumerate(sorted(t.accounts.items())):
            for n, acc in enumerate(accounts):
                doc["accounts"].append(
                    {"id": acc, "tenant": t.id, "channel": channel, "billing_unit": units[(k + n) % 3]}
                )
        doc["teams"] += [{"id": f"{t.id}-team-{n}", "tenant": t.id, "billing_unit": units[n - 1]} for n in (1, 2)]
        doc["queues"] += [{"id": q, "tenant": t.id, "billing_unit": units[n]} for n, q in enumerate(t.queues)]
        doc["bots"] += [{"id": b, "tenant": t.id, "billing_unit": units[1]} for b in t.bots]
    return doc
