"""Applying reference versions never raises: each hostile value is refused with a bounded reason, the last good
version stays in force, and later valid versions apply."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from omnimeter.streams.reference import REFUSAL_REASONS, ReferenceData
from tests.hostile_reference import HOSTILE_DIRECTORY, HOSTILE_PRICES

REF = Path(__file__).resolve().parents[3] / "deploy" / "reference"


def test_each_hostile_version_is_refused_and_the_last_good_one_kept(caplog: pytest.LogCaptureFixture) -> None:
    refused: list[tuple[str, str, str]] = []
    ref = ReferenceData("127.0.0.1:1", "reference", on_refused=lambda *a: refused.append(a))
    good_prices = (REF / "prices.yaml").read_bytes()
    ref._take(b"prices", good_prices)
    ref._take(b"directory", (REF / "directory.yaml").read_bytes())
    first = ref.version("prices")
    assert first and ref.books is not None and ref.directory is not None
    hostile = [(b"prices", t.encode()) for _, t, _, _ in HOSTILE_PRICES]
    hostile += [(b"directory", t.encode()) for _, t, _, _ in HOSTILE_DIRECTORY]
    hostile += [(b"prices", b"\xff\xfe not utf-8"), (b"prices", b"42"), (b"directory", b"")]
    with caplog.at_level(logging.ERROR, logger="omnimeter.streams.reference"):
        for key, value in hostile:
            ref._take(key, value)
    assert len(refused) == len(hostile)
    assert {r for _, r, _ in refused} <= set(REFUSAL_REASONS)
    assert {r for _, r, _ in refused} >= {"invalid", "too_deep", "alias", "too_large", "not_utf8"}
    assert all("\n" not in m for _, _, m in refused)
    assert all("\n" not in r.getMessage() for r in caplog.records) and len(caplog.records) == len(hostile)
    assert ref.version("prices") == first  # the last good version stays in force
    later = good_prices.replace(b'unit: "0.0079"', b'unit: "0.0080"', 1)
    ref._take(b"prices", later)  # a later valid version applies
    assert ref.version("prices") not in ("", first)


def test_a_crashing_callback_or_parser_is_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    from omnimeter.streams import reference

    refused: list[str] = []
    ref = ReferenceData("127.0.0.1:1", "reference", on_refused=lambda _k, reason, _m: refused.append(reason))

    def boom(_text: str, _source: str) -> object:
        raise MemoryError("parser crash")

    monkeypatch.setitem(reference.KINDS, "prices", boom)
    ref._take(b"prices", b"books: []")
    assert refused == ["error"] and ref.books is None


def test_restore_applies_the_last_applied_version_only_when_the_topic_gave_none() -> None:
    ref = ReferenceData("127.0.0.1:1", "reference")
    ref._take(b"prices", b"books: [{id: x}]")  # the topic's only record is refused
    assert ref.books is None
    good = (REF / "prices.yaml").read_text()
    assert ref.restore("prices", good, "store") and ref.books is not None
    assert not ref.restore("prices", good.replace("0.0079", "0.0080"), "store")  # a good one is in force
    assert not ReferenceData("127.0.0.1:1", "reference").restore("prices", "books: [{id: x}]", "store")
