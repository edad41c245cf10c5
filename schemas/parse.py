"""Turn the bytes of one Kafka record into accepted events and rejections.

A record is one CloudEvents envelope (a JSON object) or a batch (a JSON array of envelopes). Each element
of a batch is judged on its own: one bad element is rejected with its index, the others are accepted.
The outcome of a record is deterministic for given bytes and clock, so single and batch forms of the
same events give identical accepted events.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import pydantic_core
from pydantic import ValidationError

from omnimeter.schemas.events import USAGE_EVENT, USAGE_EVENTS, UsageEvent
from omnimeter.schemas.types import EventType

_TAGS = frozenset(t.value for t in EventType)


class RejectReason(StrEnum):
    """Why a record or an event was dead-lettered (a closed set: used as a metric label)."""

    OVERSIZED = "oversized"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    NOT_ENVELOPE = "not_envelope"
    EMPTY_BATCH = "empty_batch"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    BAD_TIME = "bad_time"
    FUTURE_TIME = "future_time"
    UNKNOWN_TENANT = "unknown_tenant"  # judged by the rate stage against the directory
    RATING_FAILED = "rating_failed"  # classifying or pricing this event raised (streams/rate.py)
    STORE_REFUSED = "store_refused"  # ClickHouse refused this event's rows (sinks/clickhouse.py)


@dataclass(frozen=True, slots=True)
class Accepted:
    event: UsageEvent
    index: int  # position in a batch record; 0 for a single envelope


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    field: str  # dotted path of the offending field, "" when the whole record is bad
    detail: str
    event_id: str  # the envelope's id when it could be read, else ""
    index: int
    raw: bytes  # the original record bytes, or this element's JSON for an element of a batch

    def describe(self) -> str:
        where = f" field {self.field}" if self.field else ""
        ev = f" event {self.event_id}" if self.event_id else ""
        return f"{self.reason.value}:{where}{ev}: {self.detail}"


Outcome = Accepted | Rejection


@dataclass(frozen=True, slots=True)
class ParseLimits:
    max_record_bytes: int = 1_048_576
    max_future_skew: timedelta = timedelta(minutes=5)


DEFAULT_LIMITS = ParseLimits()


def parse_record(value: bytes | None, now: datetime, limits: ParseLimits | None = None) -> list[Outcome]:
    """Judge one record. Never raises for bad input: every problem becomes a `Rejection`."""
    limits = limits or DEFAULT_LIMITS
    raw = value or b""
    if len(raw) > limits.max_record_bytes:
        return [_whole(RejectReason.OVERSIZED, f"{len(raw)} bytes > limit {limits.max_record_bytes}", raw)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return [_whole(RejectReason.NOT_UTF8, f"invalid UTF-8 at byte {e.start}", raw)]
    head = text.lstrip()[:1]
    if head == "{":
        return [_single(raw, now, limits)]
    if head == "[":
        return _batch(raw, now, limits)
    if not head:
        return [_whole(RejectReason.NOT_JSON, "empty record", raw)]
    try:
        json.loads(text)
    except (ValueError, RecursionError) as e:
        return [_whole(RejectReason.NOT_JSON, str(e), raw)]
    return [_whole(RejectReason.NOT_ENVELOPE, "expected a JSON object or an array of objects", raw)]


def _whole(reason: RejectReason, detail: str, raw: bytes, index: int = 0) -> Rejection:
    return Rejection(reason, "", detail, "", index, raw)


def _single(raw: bytes, now: datetime, limits: ParseLimits) -> Outcome:
    try:
        event = USAGE_EVENT.validate_json(raw)
    except ValidationError as e:
        return _classify(e, _loads_or_none(raw), raw, 0)
    return _check_time(event, 0, lambda: raw, now, limits)


def _batch(raw: bytes, now: datetime, limits: ParseLimits) -> list[Outcome]:
    try:  # fast path: a whole valid batch in one validation
        events = USAGE_EVENTS.validate_json(raw)
    except ValidationError:
        pass
    else:
        if events:
            elements = _Elements(raw)
            return [_check_time(ev, i, elements.bytes_of(i), now, limits) for i, ev in enumerate(events)]
    try:
        items = pydantic_core.from_json(raw)
    except ValueError as e:
        return [_whole(RejectReason.NOT_JSON, str(e), raw)]
    if not items:
        return [_whole(RejectReason.EMPTY_BATCH, "a batch record holds no events", raw)]
    outcomes: list[Outcome] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            outcomes.append(
                _whole(RejectReason.NOT_ENVELOPE, "batch element is not a JSON object", element_bytes(item), i)
            )
            continue
        try:
            event = USAGE_EVENT.validate_python(item)
        except ValidationError as e:
            outcomes.append(_classify(e, item, element_bytes(item), i))
            continue
        outcomes.append(_check_time(event, i, functools.partial(element_bytes, item), now, limits))
    return outcomes


class _Elements:
    """The bytes of each element of a valid batch, for the few that are rejected later (future time):
    the record is parsed again once, not once per rejected element."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._items: list[Any] | None = None

    def bytes_of(self, index: int) -> Callable[[], bytes]:
        def get() -> bytes:
            if self._items is None:
                self._items = pydantic_core.from_json(self.raw)
            return element_bytes(self._items[index])

        return get


def element_bytes(item: Any) -> bytes:
    """A batch element's own bytes for its dead letter (built only for rejected elements)."""
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()


def _check_time(event: UsageEvent, index: int, raw: Callable[[], bytes], now: datetime, limits: ParseLimits) -> Outcome:
    if event.time > now + limits.max_future_skew:
        return Rejection(
            RejectReason.FUTURE_TIME,
            "time",
            f"{event.time.isoformat()} is more than {int(limits.max_future_skew.total_seconds())} s "
            "ahead of the worker clock",
            event.id,
            index,
            raw(),
        )
    return Accepted(event, index)


def _loads_or_none(raw: bytes) -> Any:
    try:
        return pydantic_core.from_json(raw)
    except ValueError:
        return None


def _classify(e: ValidationError, doc: Any, raw: bytes, index: int) -> Rejection:
    """Map pydantic's first error onto a reason and a dotted field path."""
    err = e.errors(include_url=False)[0]
    kind = err["type"]
    loc = [str(p) for p in err["loc"]]
    if loc and loc[0] in _TAGS:
        loc = loc[1:]
    path = ".".join(loc)
    event_id = ""
    if isinstance(doc, dict) and isinstance(doc.get("id"), str):
        event_id = doc["id"][:256]
    if kind == "json_invalid":
        reason, path = RejectReason.NOT_JSON, ""
    elif kind == "union_tag_invalid":
        reason, path = RejectReason.UNKNOWN_TYPE, "type"
    elif kind == "union_tag_not_found":
        reason, path = RejectReason.MISSING_FIELD, "type"
    elif kind in ("model_attributes_type", "model_type", "dict_type") and not loc:
        reason = RejectReason.NOT_ENVELOPE
    elif kind == "missing":
        reason = RejectReason.MISSING_FIELD
    elif path == "time":
        reason = RejectReason.BAD_TIME
    else:
        reason = RejectReason.INVALID_FIELD
    detail = err["msg"]
    if kind == "union_tag_invalid" and isinstance(doc, dict):
        detail = f"unknown event type {str(doc.get('type'))[:64]!r}"
    return Rejection(reason, path, detail, event_id, index, raw)
