"""The destination prefix comes from producer bytes (the contact): it is only ever a key of a deck (ASCII
digits, at most 15), never the producer's text; non-ASCII digits never match."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from omnimeter.pricing.books import PriceBooks, parse_price_books
from omnimeter.pricing.destinations import digits_of, matched_prefix
from omnimeter.pricing.rating import rate_all
from omnimeter.schemas.problems import ReferenceDataError
from tests.unit.pricing.test_rating import BOOKS, DIRECTORY, event

REF = Path(__file__).resolve().parents[3] / "deploy" / "reference"


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+44 20 7946 0000", "44"),
        ("+" + "4" * 25, "44"),  # 20+ digits: bounded, a deck key
        ("+", ""),
        ("+++---", ""),
        ("", ""),
        (None, ""),
        ("+٤٤2079460000", ""),  # Arabic-Indic digits are not 4 4
        ("+4٤4", ""),  # mixed: dropping the non-ASCII digit would read another number
        ("+\uff14\uff14", ""),  # fullwidth
        ("+4²", ""),  # superscript
    ],
)
def test_matched_prefix_is_a_deck_key(number: str | None, expected: str) -> None:
    decks = [frozenset({"44", "4"}), frozenset({"٤٤", "٤"})]  # a deck key no parsed book can hold any more
    got = matched_prefix(number, decks)
    assert got == expected
    assert got == "" or (got.isascii() and got.isdigit() and len(got) <= 15 and any(got in d for d in decks))


def test_digits_are_ascii_and_bounded() -> None:
    assert digits_of("+" + "1" * 40) == "1" * 15
    assert digits_of("+٤٤") == "" and digits_of("+1 (555) 000") == "1555000"


def _prices(**top: object) -> str:
    doc = yaml.safe_load((REF / "prices.yaml").read_text())
    doc.update(top)
    return yaml.safe_dump(doc, allow_unicode=True)


@pytest.mark.parametrize("bad", [["٤٤"], ["\uff14\uff14"], ["44a"], ["+44"], ["1" * 16], [""], [44.5], [["44"]], "44"])
def test_high_risk_prefixes_refused_with_the_field_named(bad: object) -> None:
    with pytest.raises(ReferenceDataError) as e:
        parse_price_books(_prices(high_risk_prefixes=bad))
    assert any(p.path.startswith("high_risk_prefixes") for p in e.value.problems), e.value


def test_too_many_high_risk_prefixes_refused() -> None:
    with pytest.raises(ReferenceDataError) as e:
        parse_price_books(_prices(high_risk_prefixes=[str(n) for n in range(10_001)]))
    assert any(p.path.startswith("high_risk_prefixes") for p in e.value.problems)


def test_by_prefix_deck_keys_must_be_ascii() -> None:
    doc = yaml.safe_load((REF / "prices.yaml").read_text())
    prices = next(p for b in doc["books"] for p in b.get("prices", {}).values() if p.get("by_prefix"))
    prices["by_prefix"]["٥٧٣"] = "0.1"
    with pytest.raises(ReferenceDataError) as e:
        parse_price_books(yaml.safe_dump(doc, allow_unicode=True))
    assert any("by_prefix" in p.path for p in e.value.problems), e.value


def _call(contact: str) -> str:
    e = event(
        "tenant-001",
        "call.completed",
        {"direction": "outbound", "account": "+1", "contact": contact, "answered": True, "duration_s": 61},
    )
    voice = next(ln for ln in rate_all([e], BOOKS, DIRECTORY) if ln.meter == "voice.outbound.seconds")
    return voice.destination_prefix


def test_rate_all_sets_only_deck_keys_as_destination_prefix() -> None:
    assert _call("+573001112233") == "573"
    assert _call("+57300111223344556677889900") == "573"  # 20+ digits
    assert _call("+") == ""
    assert _call("+٥٧٣\u0660\u0660\u0661\u0661\u0661٢٢٣٣") == ""  # 573001112233 in Arabic-Indic digits
    risky = PriceBooks(books=BOOKS.books, high_risk_prefixes=frozenset({"870"}))
    data = {"direction": "outbound", "account": "+1", "contact": "+870\u0660\u0661", "answered": True, "duration_s": 5}
    e = event("tenant-001", "call.completed", data)
    assert {ln.destination_prefix for ln in rate_all([e], risky, DIRECTORY)} == {""}
