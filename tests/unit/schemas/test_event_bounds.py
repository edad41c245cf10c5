"""Bounds at the edge (schemas/bounds.py): every value that reaches a fixed-range column or a computation is
bounded where it enters; strict JSON; one tenant per record, equal to the record key; one parse per record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnimeter.schemas import bounds, parse
from omnimeter.schemas.parse import Accepted, ParseLimits, Rejection, RejectReason, parse_record

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def call(**over: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "specversion": "1.0", "id": "evt-1", "source": "telephony", "type": "call.completed",
        "time": "2026-11-22T11:00:00Z", "subject": "tenant-a", "datacontenttype": "application/json",
        "data": {"direction": "outbound", "account": "+1555", "contact": "+5730", "answered": True, "duration_s": 30},
    }  # fmt: skip
    data = over.pop("data", {})
    env.update(over)
    env["data"] = {**env["data"], **data}
    return env


def one(value: bytes, key: bytes | None = b"tenant-a", limits: ParseLimits | None = None) -> Accepted | Rejection:
    outcomes = parse_record(value, NOW, limits, key)
    assert len(outcomes) == 1
    return outcomes[0]


def rejected(value: bytes, key: bytes | None = b"tenant-a", limits: ParseLimits | None = None) -> Rejection:
    out = one(value, key, limits)
    assert isinstance(out, Rejection), out
    assert out.detail
    return out


# --- time ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "time",
    [
        "0001-01-01T00:00:00+23:59",  # before year 1 in UTC: an OverflowError without the bound
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",  # a zero timestamp: outside the Date column of billable_lines
        "1969-12-31T23:59:59-01:00",
        "1999-12-31T23:59:59.999Z",
        "2000-01-01T00:59:59+01:00",  # 1999-12-31T23:59:59Z
    ],
)
def test_time_before_the_business_range_is_out_of_range_with_field_and_event(time: str) -> None:
    out = rejected(json.dumps(call(time=time)).encode())
    assert (out.reason, out.field, out.event_id) == (RejectReason.TIME_OUT_OF_RANGE, "time", "evt-1")
    assert "min_event_time" in out.detail


def test_time_at_the_start_of_the_range_is_accepted() -> None:
    assert isinstance(one(json.dumps(call(time="2000-01-01T00:00:00Z")).encode()), Accepted)


@pytest.mark.parametrize("time", ["9999-12-31T23:59:59-23:59", "2149-06-07T00:00:00Z", "2026-11-22T12:05:01Z"])
def test_time_after_the_future_skew_is_refused(time: str) -> None:
    out = rejected(json.dumps(call(time=time)).encode())
    assert out.reason in (RejectReason.FUTURE_TIME, RejectReason.TIME_OUT_OF_RANGE)
    assert (out.field, out.event_id) == ("time", "evt-1")


def test_min_event_time_is_configurable_but_not_before_the_column_range() -> None:
    value = json.dumps(call(time="1995-06-01T00:00:00Z")).encode()
    assert isinstance(one(value, limits=ParseLimits(min_event_time=datetime(1990, 1, 1, tzinfo=UTC))), Accepted)
    with pytest.raises(ValueError, match="min_event_time"):
        ParseLimits(min_event_time=datetime(1970, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="max_future_skew"):
        ParseLimits(max_future_skew=bounds.MAX_FUTURE_SKEW + timedelta(seconds=1))


def test_settings_floor_is_the_bounds_floor() -> None:
    from omnimeter.errors import ConfigError
    from omnimeter.settings import IngestSettings, load_settings

    assert IngestSettings().min_event_time == bounds.DEFAULT_MIN_EVENT_TIME
    load_settings(ingest__min_event_time=bounds.EARLIEST_EVENT_TIME)
    with pytest.raises(ConfigError, match="min_event_time"):
        load_settings(ingest__min_event_time=bounds.EARLIEST_EVENT_TIME - timedelta(seconds=1))
    with pytest.raises(ConfigError, match="max_future_skew_s"):
        load_settings(ingest__max_future_skew_s=int(bounds.MAX_FUTURE_SKEW.total_seconds()) + 1)


# --- durations and counts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"duration_s": bounds.MAX_DURATION_S + 1}, "data.duration_s"),
        ({"duration_s": -1}, "data.duration_s"),
        ({"duration_s": 2**32}, "data.duration_s"),  # beyond UInt32
        ({"duration_s": 10**30}, "data.duration_s"),
    ],
)
def test_duration_outside_its_bound_is_an_invalid_field(data: dict[str, Any], field: str) -> None:
    out = rejected(json.dumps(call(data=data)).encode())
    assert (out.reason, out.field, out.event_id) == (RejectReason.INVALID_FIELD, field, "evt-1")


def test_duration_at_its_bound_is_accepted() -> None:
    assert isinstance(one(json.dumps(call(data={"duration_s": bounds.MAX_DURATION_S})).encode()), Accepted)


def test_video_participants_and_sms_segments_are_bounded() -> None:
    video = {"specversion": "1.0", "id": "v", "source": "s", "type": "video_call.completed",
             "time": "2026-11-22T11:00:00Z", "subject": "tenant-a",
             "data": {"duration_s": 60, "participants": bounds.MAX_PARTICIPANTS + 1}}  # fmt: skip
    assert rejected(json.dumps(video).encode()).field == "data.participants"
    sms = {"specversion": "1.0", "id": "s", "source": "s", "type": "message.sent", "time": "2026-11-22T11:00:00Z",
           "subject": "tenant-a", "data": {"channel": "sms", "account": "a", "contact": "c", "sender_kind": "bot",
                                           "segments": bounds.MAX_SEGMENTS + 1}}  # fmt: skip
    assert rejected(json.dumps(sms).encode()).field == "data.segments"


# --- strict JSON --------------------------------------------------------------------------------------


def test_duplicate_keys_are_refused_with_the_field_named() -> None:
    top = b'{"specversion":"1.0","id":"evt-1","id":"evt-2","source":"s","type":"bot.turn",' \
          b'"time":"2026-11-22T11:00:00Z","subject":"tenant-a","data":{"bot_id":"b"}}'  # fmt: skip
    out = rejected(top)
    assert (out.reason, out.field) == (RejectReason.DUPLICATE_KEY, "id")
    assert out.raw == top
    inner = json.dumps(call()).replace('"duration_s": 30', '"duration_s": 30, "duration_s": 99999').encode()
    out = rejected(inner)
    assert (out.reason, out.field, out.event_id) == (RejectReason.DUPLICATE_KEY, "data.duration_s", "evt-1")


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
def test_non_finite_numbers_are_refused_with_the_field_named(token: str) -> None:
    value = json.dumps(call()).replace('"duration_s": 30', f'"duration_s": {token}').encode()
    out = rejected(value)
    assert (out.reason, out.field, out.event_id) == (RejectReason.NON_FINITE_NUMBER, "data.duration_s", "evt-1")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"duration_s": True}, "data.duration_s"),  # a boolean where a number is required
        ({"duration_s": "30"}, "data.duration_s"),  # a string where a number is required
        ({"duration_s": 30.0}, "data.duration_s"),
        ({"answered": 1}, "data.answered"),  # a number where a boolean is required
        ({"answered": "true"}, "data.answered"),
    ],
)
def test_numbers_and_booleans_are_strict(data: dict[str, Any], field: str) -> None:
    out = rejected(json.dumps(call(data=data)).encode())
    assert (out.reason, out.field) == (RejectReason.INVALID_FIELD, field)


@pytest.mark.parametrize(
    ("fragment", "field"),
    [
        ('"data": {"bot_id": "b", "note": "\\ud800"}', "data.note"),  # kept as an extra field: not storable
        ('"data": {"bot_id": "b", "x": [1, {"y": "a\\uDFFFb"}]}', "data.x.1.y"),
        ('"data": {"bot_id": "b"}, "ext": {"\\ud83d": 1}', "ext.?"),
    ],
)
def test_lone_surrogate_escapes_are_refused_with_the_field_named(fragment: str, field: str) -> None:
    value = ('{"specversion": "1.0", "id": "e1", "source": "s", "type": "bot.turn", '
             '"time": "2026-11-22T11:00:00Z", "subject": "tenant-a", ' + fragment + "}").encode()  # fmt: skip
    out = rejected(value)
    assert (out.reason, out.field, out.event_id) == (RejectReason.NOT_UTF8, field, "e1")
    assert out.raw == value
    bad_id = value.replace(b'"e1"', b'"e\\ud800"')
    (out,) = parse_record(b"[" + bad_id + b"]", NOW, None, b"tenant-a")
    assert isinstance(out, Rejection) and (out.reason, out.field, out.event_id) == (RejectReason.NOT_UTF8, "id", "e?")
    assert json.loads(out.raw)["id"] == "e\ud800"  # the element's bytes, escaped as sent


def test_paired_surrogate_escapes_are_text() -> None:
    value = json.dumps(call(data={"note": "\U0001f600"})).encode()  # an emoji, sent as \\ud83d\\ude00
    assert b"\\ud83d\\ude00" in value
    assert isinstance(one(value), Accepted)


def test_json_nested_deeper_than_the_bound_is_refused() -> None:
    deep: Any = "x"
    for _ in range(bounds.MAX_JSON_DEPTH):
        deep = {"e": deep}
    assert rejected(json.dumps(call(data={"error": deep}, type="message.failed")).encode()).reason is (
        RejectReason.NOT_JSON
    )


def test_a_bad_element_of_a_batch_is_refused_alone() -> None:
    good = json.dumps(call(id="a"))
    dup = json.dumps(call(id="b")).replace('"duration_s": 30', '"duration_s": 30, "duration_s": 31')
    nan = json.dumps(call(id="c")).replace('"duration_s": 30', '"duration_s": NaN')
    outs = parse_record(f"[{good},{dup},{nan}]".encode(), NOW, None, b"tenant-a")
    assert isinstance(outs[0], Accepted)
    assert [(o.reason, o.field, o.event_id, o.index) for o in outs[1:]] == [  # type: ignore[union-attr]
        (RejectReason.DUPLICATE_KEY, "data.duration_s", "b", 1),
        (RejectReason.NON_FINITE_NUMBER, "data.duration_s", "c", 2),
    ]


# --- who may bill whom ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [b"tenant-b", None, b"", b"\xff"])
def test_record_key_must_be_the_subject(key: bytes | None) -> None:
    out = rejected(json.dumps(call()).encode(), key=key)
    assert (out.reason, out.field, out.event_id) == (RejectReason.KEY_MISMATCH, "subject", "evt-1")


def test_a_batch_record_holds_one_tenant() -> None:
    batch = [call(id="a"), call(id="b", subject="tenant-b"), call(id="c", data={"duration_s": "x"})]
    outs = parse_record(json.dumps(batch).encode(), NOW, None, b"tenant-a")
    assert [(o.reason, o.index) for o in outs] == [  # type: ignore[union-attr]
        (RejectReason.MIXED_TENANTS, 0),
        (RejectReason.MIXED_TENANTS, 1),
        (RejectReason.INVALID_FIELD, 2),
    ]
    assert json.loads(outs[1].raw)["id"] == "b"  # type: ignore[union-attr]
    # one tenant under another tenant's key: each event is a key mismatch
    outs = parse_record(json.dumps([call(id="a"), call(id="b")]).encode(), NOW, None, b"tenant-b")
    assert {o.reason for o in outs} == {RejectReason.KEY_MISMATCH}  # type: ignore[union-attr]
    # read from a file (no key): the tenant rule still holds
    outs = parse_record(json.dumps(batch).encode(), NOW)
    assert outs[0].reason is RejectReason.MIXED_TENANTS  # type: ignore[union-attr]


# --- parse once ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [10, 100, 1000])
def test_a_batch_is_parsed_once_whatever_its_contents(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of future-dated events (each rejected): one JSON parse per record and one validation per
    element at most, so the per-element cost stays linear (counted, not timed)."""
    calls = {"loads": 0, "validate": 0, "dumps": 0}
    real_loads, real_dumps = parse._DECODER.decode, parse.element_bytes
    real_one, real_all = parse.USAGE_EVENT.validate_python, parse.USAGE_EVENTS.validate_python

    def count(name: str, f: Any) -> Any:
        def wrapped(*a: Any, **kw: Any) -> Any:
            calls[name] += 1 if name != "validate" or f is real_one else len(a[0])
            return f(*a, **kw)

        return wrapped

    monkeypatch.setattr(parse, "_DECODER", type("D", (), {"decode": staticmethod(count("loads", real_loads))}))
    monkeypatch.setattr(parse, "element_bytes", count("dumps", real_dumps))
    monkeypatch.setattr(
        parse, "USAGE_EVENT", type("A", (), {"validate_python": staticmethod(count("validate", real_one))})
    )
    monkeypatch.setattr(
        parse, "USAGE_EVENTS", type("A", (), {"validate_python": staticmethod(count("validate", real_all))})
    )
    future = [call(id=f"f{i}", time="2030-01-01T00:00:00Z") for i in range(n)]
    outs = parse_record(json.dumps(future).encode(), NOW, None, b"tenant-a")
    assert [o.reason for o in outs] == [RejectReason.FUTURE_TIME] * n  # type: ignore[union-attr]
    assert calls == {"loads": 1, "validate": n, "dumps": n}
    # a batch with a bad element: each element validated once more at most
    calls.update(loads=0, validate=0, dumps=0)
    outs = parse_record(json.dumps([*future, call(id="x", data={"duration_s": "x"})]).encode(), NOW, None, b"tenant-a")
    assert calls["loads"] == 1 and calls["validate"] <= 2 * (n + 1) and calls["dumps"] == n + 1


def test_emoji_in_one_element_and_a_lone_surrogate_in_another_of_a_batch() -> None:
    """Paired escapes leave the batch on the fast path; a lone one is still refused, alone."""

    def bot(event_id: str, note: str) -> str:
        return ('{"specversion": "1.0", "id": "' + event_id + '", "source": "s", "type": "bot.turn", '
                '"time": "2026-11-22T11:00:00Z", "subject": "tenant-a", "data": {"bot_id": "b", "note": "'
                + note + '"}}')  # fmt: skip

    pair, lone = "\\ud83d\\ude00", "x\\ud800"  # as JSON escapes
    batch = "[" + ", ".join((bot("a", pair), bot("b", lone), bot("c", pair))) + "]"
    out = parse_record(batch.encode(), NOW, None, b"tenant-a")
    assert [type(o) for o in out] == [Accepted, Rejection, Accepted]
    assert isinstance(out[1], Rejection) and (out[1].reason, out[1].field) == (RejectReason.NOT_UTF8, "data.note")
    assert [o.event.data.model_extra for o in out if isinstance(o, Accepted)] == [{"note": "\U0001f600"}] * 2
