"""X/Y call increments: billable = X if 0 < d <= X, else X + ceil((d - X) / Y) * Y."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnimeter.pricing.voice import Increment


@pytest.mark.parametrize(
    ("inc", "duration", "answered", "billable"),
    [
        ("60/60", 0, True, 0),
        ("60/60", 1, True, 60),
        ("60/60", 60, True, 60),
        ("60/60", 61, True, 120),
        ("30/6", 1, True, 30),
        ("30/6", 30, True, 30),
        ("30/6", 31, True, 36),
        ("30/6", 37, True, 42),
        ("1/1", 1, True, 1),
        ("1/1", 125, True, 125),
        ("60/1", 61, True, 61),
        ("60/60", 45, False, 0),  # unanswered bills nothing by default
    ],
)
def test_increments(inc: str, duration: int, answered: bool, billable: int) -> None:
    assert Increment.parse(inc).billable(duration, answered) == billable


def test_unanswered_when_the_book_bills_it() -> None:
    assert Increment(60, 60).billable(10, answered=False, bill_unanswered=True) == 60


def test_negative_duration_is_an_error() -> None:
    with pytest.raises(ValueError):
        Increment().billable(-1)


@given(st.integers(1, 600), st.integers(1, 600), st.integers(0, 100_000))
def test_billable_covers_duration_within_one_step(x: int, y: int, d: int) -> None:
    b = Increment(x, y).billable(d)
    if d == 0:
        assert b == 0
    else:
        assert b >= d and b >= x
        assert b - d < max(x, y)
        assert b == x or (b - x) % y == 0
