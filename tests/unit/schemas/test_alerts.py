"""parse_alert against records a hostile writer of the alerts topic can send: each is refused with
`NotAnAlert` (which the worker logs and ignores), never another exception; ids are stable per crossing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from omnimeter.schemas.alerts import MAX_ALERT_BYTES, Alert, AlertKind, NotAnAlert, number, parse_alert

START = datetime(2026, 3, 1, tzinfo=UTC)


def alert(threshold: Decimal = Decimal(80), start: datetime = START, **kw: Any) -> Alert:
    return Alert(
        AlertKind.CYCLE_SPEND, kw.get("tenant", "t1"), "", kw.get("subject", ""), number(threshold), "81", "USD",
        start, start + timedelta(days=31), "cycle spend 81 USD reached 80 USD", {"estimated_charge": "81"},
        datetime(2026, 3, 5, tzinfo=UTC),
    )  # fmt: skip


def doc(**changes: Any) -> dict[str, Any]:
    d: dict[str, Any] = json.loads(alert().cloudevent())
    for k, v in changes.items():
        if k.startswith("data_"):
            d["data"][k[5:]] = v
        else:
            d[k] = v
    return d


def encoded(d: Any) -> bytes:
    return json.dumps(d).encode()


def test_own_alert_round_trips_with_its_key() -> None:
    a = alert()
    back = parse_alert(a.cloudevent(), a.id.encode())
    assert back.id == a.id and back.threshold == "80" and back.evidence == {"estimated_charge": "81"}


HOSTILE: dict[str, bytes | None] = {
    "tombstone": None,
    "empty": b"",
    "garbage bytes": b"\xff\xfe\x00garbage",
    "not json": b"{data:",
    "json list": b"[1, 2]",
    "json string": b'"alert"',
    "json number": b"1e999999",
    "data a list": encoded(doc(data=[1])),
    "data null": encoded(doc(data=None)),
    "huge": b'{"data": "' + b"x" * (MAX_ALERT_BYTES + 1) + b'"}',
    "huge int": encoded(doc(data_threshold=None)).replace(b"null", b"9" * 5000),
    "deep nesting": b'{"data": {"evidence": ' + b"[" * 50_000 + b"]" * 50_000 + b"}}",
    "deep evidence": encoded(doc()).replace(
        b'"evidence": {', b'"evidence": {"x": ' + b"[" * 20_000 + b"]" * 20_000 + b", "
    ),
    "NaN threshold": encoded(doc()).replace(b'"threshold": "80"', b'"threshold": NaN'),
    "Infinity evidence": encoded(doc()).replace(b'"evidence": {', b'"evidence": {"x": Infinity, '),
    "threshold a number": encoded(doc(data_threshold=80)),
    "tenant an object": encoded(doc(data_tenant_id={"a": 1})),
    "tenant null": encoded(doc(data_tenant_id=None)),
    "message missing": encoded({**doc(), "data": {k: v for k, v in doc()["data"].items() if k != "message"}}),
    "kind unknown": encoded(doc(data_kind="free_money")),
    "kind a list": encoded(doc(data_kind=["cycle_spend"])),
    "type of another kind": encoded(doc(type="omnimeter.alert.pumping")),
    "other source": encoded(doc(source="evil")),
    "evidence a list": encoded(doc(data_evidence=[1])),
    "time without zone": encoded(doc(time="2026-03-05T00:00:00")),
    "time a number": encoded(doc(time=1772668800)),
    "period out of range": encoded(doc(data_period_start="0001-01-01T00:00:00+05:00")),
    "id missing": encoded({k: v for k, v in doc().items() if k != "id"}),
    "id of other data": encoded(doc(id=alert(Decimal(100)).id)),
    "id an object": encoded(doc(id={"x": 1})),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_record_is_not_an_alert(name: str) -> None:
    with pytest.raises(NotAnAlert):
        parse_alert(HOSTILE[name], alert().id.encode())


def test_key_must_be_the_id() -> None:
    a = alert()
    with pytest.raises(NotAnAlert, match="key"):
        parse_alert(a.cloudevent(), b"other")
    with pytest.raises(NotAnAlert, match="key"):
        parse_alert(a.cloudevent(), alert(Decimal(100)).id.encode())


def test_same_crossing_same_id_whatever_the_notation() -> None:
    ids = {alert(Decimal(v)).id for v in ("80", "80.0", "8E+1", "80.000000")}
    assert len(ids) == 1
    # the same instant in another zone is the same period
    assert alert(start=START.astimezone(ZoneInfo("America/Sao_Paulo"))).id == alert().id


def test_different_crossings_different_ids() -> None:
    ids = [
        alert().id, alert(Decimal(100)).id, alert(Decimal("80.5")).id, alert(tenant="t2").id,
        alert(start=START + timedelta(days=31)).id, alert(subject="44").id,
    ]  # fmt: skip
    assert len(set(ids)) == len(ids)
