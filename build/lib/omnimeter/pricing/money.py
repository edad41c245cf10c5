"""Money: Decimal amounts, currencies with their minor units, explicit rounding.

Amounts inside the pipeline keep `LINE_PLACES` decimal places (enough for per-second and per-segment
rates); they are rounded to the currency's minor units once, per invoice line, with the book's rounding
mode (half-up unless configured).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from enum import StrEnum

LINE_PLACES = Decimal("0.000001")

# ISO 4217 minor units of the currencies our customers bill in; others default to 2.
MINOR_UNITS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "BRL": 2,
    "MXN": 2,
    "ARS": 2,
    "INR": 2,
    "CAD": 2,
    "AUD": 2,
    "COP": 2,
    "CLP": 0,
    "JPY": 0,
    "KRW": 0,
    "PYG": 0,
    "KWD": 3,
    "BHD": 3,
    "TND": 3,
}


class Rounding(StrEnum):
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    UP = "up"
    DOWN = "down"

    @property
    def decimal_mode(self) -> str:
        return {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "up": ROUND_UP, "down": ROUND_DOWN}[self.value]


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
    """Round to the currency's minor units (e.g. 2 for USD, 0 for CLP) with an explicit mode."""
    return amount.quantize(quantum(currency), rounding=rounding.decimal_mode)


def line_amount(amount: Decimal) -> Decimal:
    """The precision billable lines keep before invoice rounding."""
    return amount.quantize(LINE_PLACES, rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, currency: str) -> int:
    return int(round_money(amount, currency).scaleb(minor_units(currency)))


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-minor_units(currency))
