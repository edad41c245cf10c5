"""Price books and directory files: the shipped ones load; files with mistakes list every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnimeter.pricing.books import Audience, parse_price_books
from omnimeter.schemas.directory import parse_directory
from omnimeter.schemas.problems import ReferenceDataError

REF = Path(__file__).resolve().parents[3] / "deploy" / "reference"


def test_shipped_reference_files_load() -> None:
    books = parse_price_books((REF / "prices.yaml").read_text(), "prices.yaml")
    directory = parse_directory((REF / "directory.yaml").read_text(), "directory.yaml")
    assert {b.audience for b in books.books} == set(Audience)
    assert directory.tenant("tenant-002") is not None and directory.tenant("tenant-002").reseller == "reseller-01"


BAD_BOOKS = """
books:
  - id: direct
    version: "1"
    effective_from: 2026-01-01          # no offset: must be aware
    audience: direct
    currency: usd                       # lower case
    prices:
      sms.outbound.segments: {model: graduated, tiers: [{up_to: 100, unit: "0.1"}, {up_to: 50, unit: "0.2"}]}
      voice.outbound.seconds: {unit: "-0.01"}
      teleport.minutes: {unit: "1"}
  - id: retail
    version: "1"
    effective_from: 2026-01-01T00:00:00Z
    audience: retail                    # retail without a reseller party
    prices:
      bot.billable_messages: {model: package, package_size: 1000}
"""


def test_price_book_mistakes_are_all_listed() -> None:
    with pytest.raises(ReferenceDataError) as info:
        parse_price_books(BAD_BOOKS, "bad-prices.yaml")
    text = str(info.value)
    for expected in (
        "bad-prices.yaml: books.0.effective_from",
        "books.0.currency",
        "books.0.prices.sms.outbound.segments",
        "books.0.prices.voice.outbound.seconds.unit",
        "books.1",
        "books.1.prices.bot.billable_messages",
    ):
        assert expected in text, f"{expected!r} not in:\n{text}"
    assert len(info.value.problems) >= 6


def test_unknown_meter_and_duplicate_version_are_reported() -> None:
    text = """
books:
  - {id: a, version: "1", effective_from: "2026-01-01T00:00:00Z", audience: direct,
     prices: {teleport.minutes: {unit: "1"}}}
  - {id: a, version: "1", effective_from: "2026-01-01T00:00:00Z", audience: direct, prices: {}}
"""
    with pytest.raises(ReferenceDataError) as info:
        parse_price_books(text, "p.yaml")
    msgs = [str(p) for p in info.value.problems]
    assert "p.yaml: books.0.prices.teleport.minutes: unknown meter" in msgs
    assert any("defined twice" in m for m in msgs)


BAD_DIRECTORY = """
resellers: [{id: r1}]
tenants:
  - {id: t1, reseller: r9, signup: 2026-01-31, timezone: Mars/Olympus}
  - {id: t2, signup: not-a-date}
  - {id: t3, signup: 2026-01-01}
  - {id: t3, signup: 2026-01-01}
billing_units: [{id: sales, tenant: t3}]
users:
  - {id: u1, tenant: t3, billing_units: [sales, ghost], weights: {other: 2}}
accounts:
  - {id: "+1555", tenant: t3, billing_unit: nowhere}
  - {id: "+1555", tenant: t3, billing_unit: sales}
  - {id: "+1666", tenant: t404}
"""


def test_directory_mistakes_are_all_listed() -> None:
    with pytest.raises(ReferenceDataError) as info:
        parse_directory(BAD_DIRECTORY, "dir.yaml")
    msgs = [str(p) for p in info.value.problems]
    for expected in (
        "dir.yaml: tenants.0.timezone: Value error, unknown time zone 'Mars/Olympus'",
        "dir.yaml: tenants.3.id: duplicate id 't3'",
        "dir.yaml: users.0.billing_units: unknown billing unit 'ghost' of t3",
        "dir.yaml: users.0.weights.other: weight for a billing unit the user is not in",
        "dir.yaml: accounts.0.billing_unit: unknown billing unit 'nowhere' of t3",
        "dir.yaml: accounts.1.id: duplicate id '+1555'",
        "dir.yaml: accounts.2.tenant: unknown tenant 't404'",
    ):
        assert expected in msgs, f"{expected!r} not in {msgs}"
    assert any(m.startswith("dir.yaml: tenants.1.signup") for m in msgs)


def test_not_yaml_names_the_line() -> None:
    with pytest.raises(ReferenceDataError, match=r"x.yaml: line 3, column 1: not valid YAML"):
        parse_directory("tenants:\n  - {id: [\n", "x.yaml")
