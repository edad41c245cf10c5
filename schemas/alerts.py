"""Alerts as events (issue 19): what crossing a threshold publishes on the alerts topic.

An alert is a CloudEvent (JSON, structured mode) of type ``omnimeter.alert.<kind>``, keyed on the topic by
its id. The id is derived from what was crossed (tenant, kind, subject, threshold, period), so the same
crossing always has the same id: the topic is compacted, and a worker that reads it before publishing
publishes each crossing once per period (a cycle for spend, commitments and credit; a day for the spend
per destination prefix; an hour for pumping). Consumers that must never act twice dedupe on the id.

`data` holds the numbers as strings (amounts keep their exact decimal digits) and the evidence. No alert
carries a cost or a margin: a tenant's alert is about what the tenant pays.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

SOURCE = "omnimeter/alerts"
MAX_ALERT_BYTES = 64 * 1024  # an alert read back from the topic larger than this is not an alert of ours


class AlertKind(StrEnum):
    CYCLE_SPEND = "cycle_spend"  # the running cycle's estimated charge reached an amount
    COMMITMENT = "commitment"  # a commitment's use reached a percentage
    CREDIT = "credit"  # the carrier credit's use reached a percentage
    PREFIX_SPEND = "prefix_spend"  # a day's spend to one destination prefix reached an amount
    PUMPING = "pumping"  # an hour's traffic to one destination prefix spiked (or hit a high-risk prefix)

    @property
    def type(self) -> str:
        return f"omnimeter.alert.{self.value}"


def number(value: Decimal) -> str:
    """A decimal in plain notation without trailing zeros: 80, 80.0 and 8E+1 give the same text (and id)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    tenant_id: str
    reseller_id: str
    subject: str  # the meter of a commitment, the destination prefix; '' for spend and credit
    threshold: str  # an amount, a percentage, or (pumping) the count that makes a spike
    observed: str  # what was measured when it was crossed
    currency: str  # of amounts ('' for counts and percentages of quantities)
    period_start: datetime  # the cycle, day or hour the alert is once per
    period_end: datetime
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    raised_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def id(self) -> str:
        key = "|".join(
            (
                self.kind.value,
                self.tenant_id,
                self.subject,
                self.threshold,
                self.period_start.astimezone(UTC).isoformat(),
            )
        )  # the instant, whatever its zone
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def data(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "reseller_id": self.reseller_id,
            "kind": self.kind.value,
            "subject": self.subject,
            "threshold": self.threshold,
            "observed": self.observed,
            "currency": self.currency,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "message": self.message,
            "evidence": dict(self.evidence),
        }

    def cloudevent(self) -> bytes:
        return json.dumps(
            {
                "specversion": "1.0",
                "id": self.id,
                "source": SOURCE,
                "type": self.kind.type,
                "subject": self.tenant_id,
                "time": self.raised_at.isoformat(),
                "datacontenttype": "application/json",
                "data": self.data(),
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()

    def row(self, version: datetime) -> tuple[Any, ...]:
        """The alerts table's row (sinks/tables.py ALERTS)."""
        return (self.id, self.kind.type, self.tenant_id, self.reseller_id, self.subject, self.threshold,
                self.observed, self.currency, self.period_start, self.period_end, self.message,
                json.dumps(dict(self.evidence), sort_keys=True), self.raised_at, version)  # fmt: skip


class NotAnAlert(ValueError):
    """A record of the alerts topic that is not an alert this code wrote."""


_TEXT_FIELDS = ("tenant_id", "reseller_id", "subject", "threshold", "observed", "currency", "message")


def parse_alert(value: bytes | None, key: bytes | None = None) -> Alert:
    """An alert read back from the topic (`key`, when given, must be its id). Raises `NotAnAlert` naming
    what is wrong, and nothing else, whatever the bytes: anyone who can write to the topic can send them."""
    if not isinstance(value, bytes | bytearray):
        raise NotAnAlert(f"value is {type(value).__name__}, not bytes")
    if len(value) > MAX_ALERT_BYTES:
        raise NotAnAlert(f"{len(value)} bytes, more than {MAX_ALERT_BYTES}")
    try:
        doc = json.loads(value, parse_constant=_no_constant)
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
            raise NotAnAlert("expected a CloudEvent object with an object under 'data'")
        data = doc["data"]
        if doc.get("source") != SOURCE:
            raise NotAnAlert(f"source {doc.get('source')!r} is not {SOURCE!r}")
        kind = AlertKind(data["kind"]) if isinstance(data.get("kind"), str) else None
        if kind is None or doc.get("type") != kind.type:
            raise NotAnAlert(f"type {doc.get('type')!r} / kind {data.get('kind')!r}: not an alert kind")
        texts = [data.get(k) for k in _TEXT_FIELDS]
        wrong = [k for k, v in zip(_TEXT_FIELDS, texts, strict=True) if not isinstance(v, str)]
        if wrong:
            raise NotAnAlert(f"{', '.join(wrong)}: expected strings")
        evidence = data.get("evidence", {})
        if not isinstance(evidence, dict):
            raise NotAnAlert("evidence: expected an object")
        tenant_id, reseller_id, subject, threshold, observed, currency, message = texts
        alert = Alert(
            kind, tenant_id, reseller_id, subject, threshold, observed, currency, _time(data.get("period_start")),
            _time(data.get("period_end")), message, evidence, _time(doc.get("time")),
        )  # fmt: skip
    except NotAnAlert:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as e:  # JSON, enum, times, nesting
        raise NotAnAlert(f"{type(e).__name__}: {str(e)[:200]}") from None
    if doc.get("id") != alert.id:
        raise NotAnAlert(f"id {str(doc.get('id'))[:80]!r} is not the id of its data")
    if key is not None and key != alert.id.encode():
        raise NotAnAlert(f"key {key[:80]!r} is not the alert's id")
    return alert


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number of an alert")


def _time(text: object) -> datetime:
    if not isinstance(text, str):
        raise TypeError(f"time: expected a string, not {type(text).__name__}")
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return t.astimezone(UTC)
