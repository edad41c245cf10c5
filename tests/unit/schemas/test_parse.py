"""Every reason a record is dead-lettered, with the field and event id, and form independence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from omnimeter.cli.traffic import Traffic, build_world
from omnimeter.schemas.parse import Accepted, ParseLimits, Rejection, RejectReason, parse_record

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def envelope(**over: object) -> dict[str, object]:
    env: dict[str, object] = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "sms-gateway",
        "type": "message.sent",
        "time": "2026-11-22T06:59:00.250-05:00",
        "subject": "tenant-a",
        "datacontenttype": "application/json",
        "data": {
            "channel": "sms",
            "account": "+15550001",
            "contact": "+573001234567",
            "sender_kind": "operator",
            "body": "hello",
            "carrier_ref": "x-1",
        },
    }
    env.update(over)
    return env


def one(value: bytes, now: datetime = NOW, limits: ParseLimits | None = None) -> Accepted | Rejection:
    outcomes = parse_record(value, now, limits)
    assert len(outcomes) == 1
    return outcomes[0]


def test_valid_envelope_keeps_unknown_data_fields_and_extensions() -> None:
    out = one(json.dumps(envelope(traceparent="00-abc")).encode())
    assert isinstance(out, Accepted)
    assert out.event.data.model_extra == {"carrier_ref": "x-1"}
    assert out.event.extensions == {"traceparent": "00-abc"}
    assert out.event.time == datetime(2026, 11, 22, 11, 59, 0, 250000, tzinfo=UTC)


def _data(**over: object) -> dict[str, object]:
    d = dict(envelope()["data"])  # type: ignore[arg-type]
    d.update(over)
    return {k: v for k, v in d.items() if v is not None}


@pytest.mark.parametrize(
    ("value", "reason", "field", "event_id"),
    [
        (b"\xff\xfe{}", RejectReason.NOT_UTF8, "", ""),
        (b'{"specversion": "1.0", "id": ', RejectReason.NOT_JSON, "", ""),
        (b"hello", RejectReason.NOT_JSON, "", ""),
        (b"", RejectReason.NOT_JSON, "", ""),
        (b"42", RejectReason.NOT_ENVELOPE, "", ""),
        (b"[]", RejectReason.EMPTY_BATCH, "", ""),
        (json.dumps(envelope(type="message.teleported")).encode(), RejectReason.UNKNOWN_TYPE, "type", "evt-1"),
        (
            json.dumps({k: v for k, v in envelope().items() if k != "type"}).encode(),
            RejectReason.MISSING_FIELD,
            "type",
            "evt-1",
        ),
        (
            json.dumps({k: v for k, v in envelope().items() if k != "subject"}).encode(),
            RejectReason.MISSING_FIELD,
            "subject",
            "evt-1",
        ),
        (json.dumps(envelope(data=_data(channel=None))).encode(), RejectReason.MISSING_FIELD, "data.channel", "evt-1"),
        (json.dumps(envelope(data=_data(channel="fax"))).encode(), RejectReason.INVALID_FIELD, "data.channel", "evt-1"),
        (json.dumps(envelope(specversion="0.3")).encode(), RejectReason.INVALID_FIELD, "specversion", "evt-1"),
        (json.dumps(envelope(time="2026-11-22 11:00")).encode(), RejectReason.BAD_TIME, "time", "evt-1"),
        (json.dumps(envelope(time="2026-11-22T11:00:00")).encode(), RejectReason.BAD_TIME, "time", "evt-1"),
        (json.dumps(envelope(time=1795312427)).encode(), RejectReason.BAD_TIME, "time", "evt-1"),
        (json.dumps(envelope(time="2026-11-22T13:00:00Z")).encode(), RejectReason.FUTURE_TIME, "time", "evt-1"),
        (
            json.dumps(
                envelope(
                    type="call.completed",
                    data={
                        "direction": "outbound",
                        "account": "+1",
                        "contact": "+2",
                        "answered": True,
                        "duration_s": -5,
                    },
                )
            ).encode(),
            RejectReason.INVALID_FIELD,
            "data.duration_s",
            "evt-1",
        ),
        (b"[" * 500 + b"]" * 500, RejectReason.NOT_JSON, "", ""),
        (b'{"a":' * 400 + b"1" + b"}" * 400, RejectReason.NOT_JSON, "", ""),
    ],
)
def test_rejections_name_reason_field_and_event(value: bytes, reason: RejectReason, field: str, event_id: str) -> None:
    out = one(value)
    assert isinstance(out, Rejection), out
    assert (out.reason, out.field, out.event_id) == (reason, field, event_id)
    assert out.raw == value
    assert out.detail


def test_oversized_record_is_rejected_before_parsing() -> None:
    value = json.dumps(envelope(data=_data(body="x" * 5000))).encode()
    out = one(value, limits=ParseLimits(max_record_bytes=4096))
    assert isinstance(out, Rejection) and out.reason is RejectReason.OVERSIZED


def test_future_skew_is_configurable() -> None:
    value = json.dumps(envelope(time="2026-11-22T13:00:00Z")).encode()
    assert isinstance(one(value, limits=ParseLimits(max_future_skew=timedelta(hours=2))), Accepted)


def test_batch_judges_each_element_and_keeps_index() -> None:
    good1, good2 = envelope(id="a"), envelope(id="b")
    bad = envelope(id="c", data=_data(account=None))
    outs = parse_record(json.dumps([good1, bad, 7, good2]).encode(), NOW)
    assert [type(o).__name__ for o in outs] == ["Accepted", "Rejection", "Rejection", "Accepted"]
    assert [o.index for o in outs] == [0, 1, 2, 3]
    assert (outs[1].reason, outs[1].field, outs[1].event_id) == (RejectReason.MISSING_FIELD, "data.account", "c")
    assert outs[2].reason is RejectReason.NOT_ENVELOPE
    assert json.loads(outs[1].raw) == bad


def test_single_and_batch_forms_give_identical_events() -> None:
    traffic = Traffic(build_world(3), seed=3, start=NOW - timedelta(hours=1))
    envs = [traffic.event() for _ in range(300)]
    singles = [o for e in envs for o in parse_record(json.dumps(e).encode(), NOW)]
    tenants = sorted({str(e["subject"]) for e in envs})
    batched = [
        o for t in tenants for o in parse_record(json.dumps([e for e in envs if e["subject"] == t]).encode(), NOW)
    ]
    assert all(isinstance(o, Accepted) for o in singles + batched)
    by_tenant = sorted((o.event for o in singles), key=lambda e: e.subject)  # type: ignore[union-attr]
    assert by_tenant == [o.event for o in batched]  # type: ignore[union-attr]
    assert {o.event.type for o in singles} >= {  # type: ignore[union-attr]
        "message.sent",
        "message.delivered",
        "message.received",
        "call.completed",
        "bot.turn",
        "seat.active",
    }
