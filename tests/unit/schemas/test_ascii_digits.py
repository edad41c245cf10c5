"""Producer numbers are ASCII digits: Python's (and pydantic's) `\\d` also matches Arabic-Indic and
fullwidth digits, and `Decimal('\\u0664')` is 4, so a provider price or a calling code written in other digits
would pass as a number. Each is refused with the field named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omnimeter.schemas.events import ProviderPrice


@pytest.mark.parametrize("amount", ["\u0664", "0.\u0660\u0660\u0667\u0665", "\uff11.00", "-\u06f0.5"])
def test_a_provider_price_in_other_digits_is_refused(amount: str) -> None:
    with pytest.raises(ValidationError, match="amount"):
        ProviderPrice(amount=amount, currency="USD")


def test_ascii_provider_prices_still_parse() -> None:
    assert ProviderPrice(amount="-0.0075", currency="USD").amount == "-0.0075"
