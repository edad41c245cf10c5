"""Reference YAML is bounded before any Python object is built (size, depth, anchors and aliases), and every
number of a price book or directory is bounded so that every amount fits Decimal(18, 6)."""

from __future__ import annotations

import time

import pytest

from omnimeter.pricing.books import parse_price_books
from omnimeter.schemas import bounds
from omnimeter.schemas.directory import parse_directory
from omnimeter.schemas.problems import ReferenceDataError, load_yaml
from tests.hostile_reference import HOSTILE_DIRECTORY, HOSTILE_PRICES, alias_bomb, book, deep


@pytest.mark.parametrize(("name", "text", "reason", "says"), HOSTILE_PRICES, ids=[c[0] for c in HOSTILE_PRICES])
def test_hostile_price_books_are_refused_with_the_field_named(name: str, text: str, reason: str, says: str) -> None:
    started = time.monotonic()
    with pytest.raises(ReferenceDataError) as e:
        parse_price_books(text, "prices.yaml")
    assert time.monotonic() - started < 1.0
    assert e.value.reason == reason
    assert says in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(("name", "text", "reason", "says"), HOSTILE_DIRECTORY, ids=[c[0] for c in HOSTILE_DIRECTORY])
def test_hostile_directories_are_refused_with_the_field_named(name: str, text: str, reason: str, says: str) -> None:
    started = time.monotonic()
    with pytest.raises(ReferenceDataError) as e:
        parse_directory(text, "directory.yaml")
    assert time.monotonic() - started < 1.0
    assert e.value.reason == reason
    assert says in str(e.value)


def test_yaml_size_bound() -> None:
    at_limit = "books: []\n#" + "x" * (bounds.MAX_YAML_BYTES - 13) + "\n"
    assert len(at_limit.encode()) <= bounds.MAX_YAML_BYTES
    assert load_yaml(at_limit, "f") == {"books": []}
    with pytest.raises(ReferenceDataError, match="limit of 4194304 bytes"):
        load_yaml(at_limit + "xx", "f")


def test_yaml_depth_bound() -> None:
    assert load_yaml(deep(bounds.MAX_YAML_DEPTH - 1), "f") is not None  # the top mapping is one level
    with pytest.raises(ReferenceDataError, match="line 1"):
        load_yaml(deep(bounds.MAX_YAML_DEPTH), "f")


def test_yaml_anchors_and_aliases_are_refused() -> None:
    assert len(alias_bomb().encode()) < 500
    for text in (alias_bomb(), "a: &x 1\n", "a: 1\nb: *x\n", "base: &b {k: 1}\nother: {<<: *b}\n"):
        with pytest.raises(ReferenceDataError) as e:
            load_yaml(text, "f")
        assert e.value.reason in ("alias", "invalid")


@pytest.mark.parametrize(
    ("price", "field"),
    [
        (f'unit: "{bounds.MAX_RATE + 1}"', "unit"),
        ('unit: "1", per: "0.5"', "per"),
        (f'unit: "1", per: "{bounds.MAX_PER + 1}"', "per"),
        ('unit: "0.0000000000001"', "unit"),  # 13 decimal places
        ('unit: "1", minimum: "1e7"', "minimum"),
        ('by_country: {CO: "1e6"}', "by_country"),
        ('by_prefix: {"57": "-1"}', "by_prefix"),
        ('model: percentage, percent: "1001"', "percent"),
        ('model: graduated, tiers: [{up_to: "0", unit: "1"}, {unit: "1"}]', "up_to"),
        ('model: graduated, tiers: [{up_to: 1, flat: "1e7"}, {unit: "1"}]', "flat"),
    ],
)
def test_price_numbers_are_bounded(price: str, field: str) -> None:
    with pytest.raises(ReferenceDataError) as e:
        parse_price_books(book(price), "prices.yaml")
    assert field in str(e.value)


def test_prices_at_their_bounds_are_accepted_and_the_largest_line_fits() -> None:
    books = parse_price_books(book(f'unit: "{bounds.MAX_RATE}", per: "{bounds.MIN_PER}", connection_fee: '
                                   f'"{bounds.MAX_FEE}"'))  # fmt: skip
    price = books.books[0].prices["sms.outbound.segments"]
    amount = price.charge().marginal(bounds.MAX_TIER_BOUND, bounds.MAX_LINE_QUANTITY) + price.connection_fee
    assert amount < bounds.DECIMAL_18_6_LIMIT
    many = ", ".join(f'{{up_to: {k + 1}, unit: "{bounds.MAX_RATE}", flat: "{bounds.MAX_FEE}"}}' for k in range(99))
    books = parse_price_books(book(f'model: graduated, tiers: [{many}, {{unit: "{bounds.MAX_RATE}"}}]'))
    price = books.books[0].prices["sms.outbound.segments"]
    assert price.charge().marginal(bounds.MAX_TIER_BOUND, bounds.MAX_LINE_QUANTITY) < bounds.DECIMAL_18_6_LIMIT
    assert price.charge().marginal(bounds.MAX_TIER_BOUND - 1, bounds.MAX_LINE_QUANTITY) < bounds.DECIMAL_18_6_LIMIT
    with pytest.raises(ReferenceDataError, match="tiers"):
        parse_price_books(book(f'model: graduated, tiers: [{many}, {{up_to: 100}}, {{unit: "1"}}]'))


def test_the_largest_event_quantity_is_inside_the_line_bound() -> None:
    from omnimeter.pricing.voice import Increment

    seconds = Increment.parse("99999/99999").billable(bounds.MAX_DURATION_S, True, False)
    assert seconds <= bounds.MAX_LINE_QUANTITY
    assert bounds.MAX_BODY_CHARS // 67 + 1 <= bounds.MAX_LINE_QUANTITY  # SMS segments of the longest body
