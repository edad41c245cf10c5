"""Hostile reference files (price books, directories): each with the reason it must be refused for. Shared by
the unit tests, the CLI test and the hostile-input fault scenario."""

from __future__ import annotations

GOOD_BOOK = """books:
  - id: direct
    version: "1"
    effective_from: 2026-01-01T00:00:00Z
    audience: direct
    prices:
      sms.outbound.segments: {{{price}}}
"""


def book(price: str) -> str:
    return GOOD_BOOK.format(price=price)


def deep(levels: int) -> str:
    return "books: " + "[" * levels + "]" * levels + "\n"


def alias_bomb() -> str:
    """The billion laughs in YAML: 466 bytes, 9^9 strings once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# (name, text, reason label, what the one-line message must say)
HOSTILE_PRICES: list[tuple[str, str, str, str]] = [
    ("per 1e-30", book('unit: "0.01", per: "1e-30"'), "invalid", "per"),
    ("unit 1e20", book('unit: "1e20"'), "invalid", "unit"),
    ("unit .inf", book("unit: .inf"), "invalid", "unit"),
    ("unit NaN", book('unit: "NaN"'), "invalid", "unit"),
    ("tier bound 1e30", book('model: graduated, tiers: [{up_to: "1e30", unit: "1"}, {unit: "1"}]'), "invalid", "up_to"),
    ("package size 1e-9", book('model: package, package_size: "1e-9", package_price: "1"'), "invalid", "package_size"),
    ("connection fee 1e15", book('unit: "1", connection_fee: "1e15"'), "invalid", "connection_fee"),
    (
        "effective_from year 1",
        book('unit: "1"').replace("2026-01-01T00:00:00Z", "0001-01-01T00:00:00+23:59"),
        "invalid",
        "effective_from",
    ),
    ("deep nesting", deep(10_000), "too_deep", "nested deeper than 32"),
    ("alias bomb", alias_bomb(), "alias", "aliases"),
    ("oversized", "books: []\n# " + "x" * (4 * 1024 * 1024) + "\n", "too_large", "bytes"),
    ("not YAML", "books: [\n  - {id: x\n", "invalid", "not valid YAML"),
]

HOSTILE_DIRECTORY: list[tuple[str, str, str, str]] = [
    ("deep nesting", "tenants: " + "[" * 5000 + "]" * 5000 + "\n", "too_deep", "nested deeper than 32"),
    ("alias bomb", alias_bomb(), "alias", "aliases"),
    ("oversized", "tenants: []\n# " + "x" * (4 * 1024 * 1024 + 10) + "\n", "too_large", "bytes"),
    ("signup year 1", "tenants:\n  - {id: t, signup: 0001-01-01}\n", "invalid", "signup"),
    (
        "carrier credit 1e30",
        'tenants:\n  - {id: t, signup: 2025-01-01, carrier_credit: "1e30"}\n',
        "invalid",
        "carrier_credit",
    ),
]
