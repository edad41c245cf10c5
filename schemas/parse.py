"""Turn the bytes of one Kafka record into accepted events and rejections.

A record is one CloudEvents envelope (a JSON object) or a batch (a JSON array of envelopes of one tenant).
Each element of a batch is judged on its own: one bad element is rejected with its index, the others are
accepted. The outcome of a record is deterministic for given bytes, key and clock, so single and batch
forms of the same events give identical accepted events.

The record is parsed once, whatever its contents (`_loads`), as strict JSON: a duplicate key, `NaN` or
`Infinity`, or nesting deeper than `MAX_JSON_DEPTH` is refused, so what is stored is exactly what was sent.
Then every element is validated (schemas/events.py) and bounded (its time inside the business range), and
the record's key is checked against the tenant of its events (DESIGN.md section 2: key = tenant id, one
tenant per batch).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from pydantic import ValidationError

from omnimeter.schemas.bounds import DEFAULT_MIN_EVENT_TIME, EARLIEST_EVENT_TIME, MAX_FUTURE_SKEW, MAX_JSON_DEPTH
from omnimeter.schemas.events import USAGE_EVENT, USAGE_EVENTS, UsageEvent
from omnimeter.schemas.types import EventType

_TAGS = frozenset(t.value for t in EventType)


class RejectReason(StrEnum):
    """Why a record or an event was dead-lettered (a closed set: used as a metric label)."""

    OVERSIZED = "oversized"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    DUPLICATE_KEY = "duplicate_key"
    NON_FINITE_NUMBER = "non_finite_number"
    NOT_ENVELOPE = "not_envelope"
    EMPTY_BATCH = "empty_batch"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    BAD_TIME = "bad_time"
    TIME_OUT_OF_RANGE = "time_out_of_range"
    FUTURE_TIME = "future_time"
    KEY_MISMATCH = "key_mismatch"
    MIXED_TENANTS = "mixed_tenants"
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
    min_event_time: datetime = DEFAULT_MIN_EVENT_TIME

    def __post_init__(self) -> None:
        if self.min_event_time.tzinfo is None or self.min_event_time < EARLIEST_EVENT_TIME:
            raise ValueError(f"min_event_time must be aware and not before {EARLIEST_EVENT_TIME.isoformat()}")
        if not timedelta(0) <= self.max_future_skew <= MAX_FUTURE_SKEW:
            raise ValueError(f"max_future_skew must be between 0 and {MAX_FUTURE_SKEW.days} days")


DEFAULT_LIMITS = ParseLimits()


class _Unchecked:
    def __repr__(self) -> str:
        return "UNCHECKED"


UNCHECKED: Final = _Unchecked()
"""`key` of a record read from a file (offline rating): there is no Kafka key to check."""


def parse_record(
    value: bytes | None, now: datetime, limits: ParseLimits | None = None, key: bytes | _Unchecked | None = UNCHECKED
) -> list[Outcome]:
    """Judge one record with its Kafka `key`. Never raises for bad input: every problem is a `Rejection`."""
    limits = limits or DEFAULT_LIMITS
    raw = value or b""
    if len(raw) > limits.max_record_bytes:
        return [_whole(RejectReason.OVERSIZED, f"{len(raw)} bytes > limit {limits.max_record_bytes}", raw)]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return [_whole(RejectReason.NOT_UTF8, f"invalid UTF-8 at byte {e.start}", raw)]
    if not raw.strip():
        return [_whole(RejectReason.NOT_JSON, "empty record", raw)]
    try:
        doc, suspicious = _loads(raw)
    except (ValueError, RecursionError) as e:
        return [_whole(RejectReason.NOT_JSON, str(e)[:200] or type(e).__name__, raw)]
    if isinstance(doc, dict):
        outcomes = _judge([doc], [raw], suspicious, now, limits)
    elif isinstance(doc, list):
        if not doc:
            return [_whole(RejectReason.EMPTY_BATCH, "a batch record holds no events", raw)]
        outcomes = _judge(doc, None, suspicious, now, limits)
    else:
        return [_whole(RejectReason.NOT_ENVELOPE, "expected a JSON object or an array of objects", raw)]
    return _check_tenant(outcomes, key, isinstance(doc, list), doc if isinstance(doc, list) else [raw])


def _whole(reason: RejectReason, detail: str, raw: bytes, index: int = 0) -> Rejection:
    return Rejection(reason, "", detail, "", index, raw)


# --- strict JSON -------------------------------------------------------------------------------------


class _DupDict(dict[str, Any]):
    """An object in which a key occurred more than once (the last value is kept, as JSON parsers do)."""

    duplicate: str = ""


# Found while parsing: a duplicate key or a non-finite number (any thread: a change means "look").
_SUSPICIONS = [0]


def _pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(items)
    if len(d) == len(items):
        return d
    _SUSPICIONS[0] += 1
    dup = _DupDict(d)
    names: set[str] = set()
    for k, _ in items:
        if k in names:
            dup.duplicate = k
            break
        names.add(k)
    return dup


def _constant(name: str) -> float:  # NaN, Infinity, -Infinity
    _SUSPICIONS[0] += 1
    return float(name)


def _float(text: str) -> float:
    f = float(text)
    if math.isinf(f):  # 1e400
        _SUSPICIONS[0] += 1
    return f


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float)
# A \\uD800-\\uDFFF escape: paired it is one character (an emoji), alone it cannot be stored as UTF-8.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_CONTAINERS = (dict, list, _DupDict)


def _loads(raw: bytes) -> tuple[Any, bool]:
    """Parse `raw` once. Returns the document and whether it may hold a duplicate key or a non-finite
    number (located per element by `_strict_problem`). Raises ValueError when it is not JSON or is nested
    deeper than MAX_JSON_DEPTH."""
    before = _SUSPICIONS[0]
    doc = _DECODER.decode(raw.decode("utf-8"))
    if raw.count(b"{") + raw.count(b"[") > MAX_JSON_DEPTH:  # else it cannot be that deep
        _check_depth(doc)
    return doc, _SUSPICIONS[0] != before or (_SURROGATE_ESCAPE.search(raw) is not None and _lone_surrogate(doc))


def _lone_surrogate(doc: Any) -> bool:
    """Whether a string of `doc` (key or value) holds a lone surrogate. The escapes of a pair (an emoji
    sent as \\ud83d\\ude00) decode to one character, so a record with emoji stays on the fast path; the
    document re-encoded in one C call answers for all its strings at once."""
    try:
        json.dumps(doc, ensure_ascii=False, check_circular=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (ValueError, TypeError, RecursionError):  # cannot tell: look closer
        return True
    return False


def _check_depth(doc: Any) -> None:
    """Level by level (no recursion): a list of the containers at each depth."""
    level, depth = [doc], 1
    while level:
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        below: list[Any] = []
        for node in level:
            below += [v for v in (node if type(node) is list else node.values()) if type(v) in _CONTAINERS]
        level, depth = below, depth + 1


def _strict_problem(item: Any) -> tuple[RejectReason, str, str] | None:
    """The first duplicate key, non-finite number or lone surrogate (a string that is not Unicode text and
    could not be stored) in `item`, with its dotted path."""
    stack: list[tuple[Any, str]] = [(item, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _DupDict):
            where = f"{path}.{node.duplicate}" if path else node.duplicate
            return RejectReason.DUPLICATE_KEY, where, f"key {node.duplicate!r} occurs more than once"
        pairs = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in pairs:
            where = f"{path}.{_printable(str(k))}" if path else _printable(str(k))
            if isinstance(v, float) and not math.isfinite(v):
                return RejectReason.NON_FINITE_NUMBER, where, f"{v} is not a JSON number"
            for text in (k, v):
                if isinstance(text, str) and not _is_text(text):
                    return RejectReason.NOT_UTF8, where, "a lone surrogate escape (\\uD800-\\uDFFF) is not text"
            if isinstance(v, dict | list):
                stack.append((v, where))
    return None


# --- validation and bounds ---------------------------------------------------------------------------


def _judge(
    items: list[Any], raws: list[bytes] | None, suspicious: bool, now: datetime, limits: ParseLimits
) -> list[Outcome]:
    """Validate and bound each element; `raws` are the elements' own bytes (a single record), else each
    rejected element's bytes are its JSON."""
    if not suspicious:
        try:  # fast path: every element valid, in one validation
            events = USAGE_EVENTS.validate_python(items)
        except ValidationError:
            pass
        else:
            return [_check_time(ev, i, items, raws, now, limits) for i, ev in enumerate(events)]
    outcomes: list[Outcome] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            outcomes.append(
                _whole(RejectReason.NOT_ENVELOPE, "batch element is not a JSON object", _raw(items, raws, i), i)
            )
            continue
        problem = _strict_problem(item) if suspicious else None
        if problem is not None:
            reason, path, detail = problem
            outcomes.append(Rejection(reason, path, detail, _event_id(item), i, _raw(items, raws, i)))
            continue
        try:
            event = USAGE_EVENT.validate_python(item)
        except ValidationError as e:
            outcomes.append(_classify(e, item, _raw(items, raws, i), i))
            continue
        outcomes.append(_check_time(event, i, items, raws, now, limits))
    return outcomes


def _raw(items: list[Any], raws: list[bytes] | None, index: int) -> bytes:
    return raws[index] if raws is not None else element_bytes(items[index])


def element_bytes(item: Any) -> bytes:
    """A batch element's own bytes for its dead letter (built only for rejected elements)."""
    try:
        return json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate: kept escaped, as it was sent
        return json.dumps(item, separators=(",", ":")).encode()


def _event_id(doc: Any) -> str:
    if isinstance(doc, dict) and isinstance(doc.get("id"), str):
        return _printable(str(doc["id"])[:256])
    return ""


def _is_text(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(s: str) -> str:
    """`s` with lone surrogates replaced, so that a rejection's id and field can be stored and printed."""
    return s if _is_text(s) else s.encode("utf-8", "replace").decode("utf-8")


def _check_time(
    event: UsageEvent, index: int, items: list[Any], raws: list[bytes] | None, now: datetime, limits: ParseLimits
) -> Outcome:
    t = event.time
    try:
        utc = t.astimezone(UTC)  # 0001-01-01T00:00:00+23:59 is before year 1 in UTC
    except OverflowError:
        utc = None
    if utc is None or utc < limits.min_event_time:
        return Rejection(
            RejectReason.TIME_OUT_OF_RANGE,
            "time",
            f"{t.isoformat()} is before {limits.min_event_time.isoformat()} (min_event_time)",
            event.id,
            index,
            _raw(items, raws, index),
        )
    if utc > now + limits.max_future_skew:
        return Rejection(
            RejectReason.FUTURE_TIME,
            "time",
            f"{t.isoformat()} is more than {int(limits.max_future_skew.total_seconds())} s ahead of the worker clock",
            event.id,
            index,
            _raw(items, raws, index),
        )
    return Accepted(event, index)


def _check_tenant(
    outcomes: list[Outcome], key: bytes | _Unchecked | None, batch: bool, items: list[Any]
) -> list[Outcome]:
    """One tenant per record, and it is the record's key: a producer may bill only the tenant it keys."""
    tenants = {o.event.subject for o in outcomes if isinstance(o, Accepted)}
    if not tenants:
        return outcomes
    if len(tenants) > 1:
        names = ", ".join(repr(t) for t in sorted(tenants)[:3]) + (", ..." if len(tenants) > 3 else "")
        reason, detail = RejectReason.MIXED_TENANTS, f"a batch record holds {len(tenants)} tenants ({names})"
    elif isinstance(key, _Unchecked) or key == next(iter(tenants)).encode():
        return outcomes
    else:
        shown = "none" if key is None else repr(key[:64].decode("utf-8", "replace"))
        reason, detail = RejectReason.KEY_MISMATCH, f"record key {shown} is not the subject {next(iter(tenants))!r}"
    raws = None if batch else items
    return [
        Rejection(reason, "subject", detail, o.event.id, o.index, _raw(items, raws, o.index))
        if isinstance(o, Accepted)
        else o
        for o in outcomes
    ]


def _classify(e: ValidationError, doc: Any, raw: bytes, index: int) -> Rejection:
    """Map pydantic's first error onto a reason and a dotted field path."""
    err = e.errors(include_url=False)[0]
    kind = err["type"]
    loc = [str(p) for p in err["loc"]]
    if loc and loc[0] in _TAGS:
        loc = loc[1:]
    path = ".".join(loc)
    event_id = _event_id(doc)
    if kind == "union_tag_invalid":
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
