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
        key = "|".join((self.kind.value, self.tenant_id, self.subject, self.threshold, self.period_start.isoformat()))
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


def parse_alert(value: bytes) -> Alert:
    """An alert read back from the topic. Raises `NotAnAlert` naming what is wrong."""
    if len(value) > MAX_ALERT_BYTES:
        raise NotAnAlert(f"{len(value)} bytes, more than {MAX_ALERT_BYTES}")
    try:
        doc = json.loads(value)
        data = doc["data"]
        kind = AlertKind(str(data["kind"]))
        evidence = data.get("evidence") or {}
        if not isinstance(evidence, dict):
            raise NotAnAlert("evidence: expected an object")
        alert = Alert(
            kind, str(data["tenant_id"]), str(data["reseller_id"]), str(data["subject"]), str(data["threshold"]),
            str(data["observed"]), str(data["currency"]), _time(data["period_start"]), _time(data["period_end"]),
            str(data["message"]), evidence, _time(doc["time"]),
        )  # fmt: skip
    except NotAnAlert:
        raise
    except (ValueError, KeyError, TypeError) as e:
        raise NotAnAlert(f"{type(e).__name__}: {e}") from None
    if doc.get("id") != alert.id:
        raise NotAnAlert(f"id {doc.get('id')!r} is not the id of its data")
    return alert


def _time(text: object) -> datetime:
    t = datetime.fromisoformat(str(text))
    if t.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return t.astimezone(UTC)
