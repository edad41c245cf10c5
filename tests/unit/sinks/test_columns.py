"""The row checker refuses exactly the values ClickHouse would refuse or silently clamp."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum

import pytest

from omnimeter.sinks.columns import RowChecker, bulk_for, check_for


class Reason(StrEnum):  # as pricing's reasons are: a str subclass
    FREE = "free_entry_point"


@pytest.mark.parametrize(
    ("ch_type", "ok", "bad"),
    [
        ("Date", [date(1970, 1, 1), date(2149, 6, 6)], [date(1969, 12, 31), date(2149, 6, 7), "2020-01-01"]),
        ("DateTime64(3, 'UTC')", [datetime(1900, 1, 1, tzinfo=UTC), datetime(2299, 12, 31, tzinfo=UTC)],
         [datetime(1899, 12, 31, tzinfo=UTC), datetime(2300, 1, 1, tzinfo=UTC), datetime(2020, 1, 1)]),  # noqa: DTZ001 (a naive time is refused)
        ("UInt16", [0, 65535], [-1, 65536, True, "1"]),
        ("UInt64", [2**64 - 1], [2**64, -1]),
        ("Decimal(18, 6)", [Decimal("999999999999.999999"), Decimal("-1.5"), 3],
         [Decimal("1e12"), Decimal("0.0000001"), Decimal("NaN"), Decimal("Infinity"), 1.5]),
        ("LowCardinality(String)", ["a", ""], ["\ud800", None, 3]),
        ("String", ["é", b"\xff"], ["x\udfff"]),
        ("Nullable(UInt8)", [None, 255], [256]),
        ("Enum8('a' = 1, 'b' = 2)", ["a", "b"], ["c"]),
    ],
)  # fmt: skip
def test_values_in_and_out_of_range(ch_type: str, ok: list[object], bad: list[object]) -> None:
    check = check_for(ch_type)
    assert [check(v) for v in ok] == [None] * len(ok)
    assert all(check(v) is not None for v in bad), [(v, check(v)) for v in bad]


def test_the_first_problem_of_a_row_names_its_column() -> None:
    checker = RowChecker(("day", "n"), {"day": "Date", "n": "UInt8"})
    assert checker.problem((date(2020, 1, 1), 1)) is None
    assert checker.problem((date(1960, 1, 1), 300)) == "day: 1960-01-01 outside 1970-01-01..2149-06-06"
    assert checker.problems([(date(2020, 1, 1), 1), (date(2020, 1, 1), 300)]) == {1: "n: 300 outside 0..255"}


@pytest.mark.parametrize(
    ("ch_type", "ok", "bad"),
    [
        ("Date", [date(1970, 1, 1), date(2149, 6, 6)], [date(1969, 12, 31), datetime(2020, 1, 1, tzinfo=UTC), "x"]),
        ("DateTime64(3, 'UTC')", [datetime(1900, 1, 1, tzinfo=UTC), datetime(2299, 12, 31, tzinfo=UTC)],
         [datetime(1899, 12, 31, tzinfo=UTC), datetime(2020, 1, 1), date(2020, 1, 1)]),  # noqa: DTZ001
        ("UInt16", [0, 65535], [-1, 65536, True, 1.0]),
        ("Decimal(18, 6)", [Decimal("999999999999.999999"), Decimal("-1.5"), 3, Decimal("1.5000000")],
         [Decimal("1e12"), Decimal("-1e12"), Decimal("0.0000001"), Decimal("NaN"), Decimal("sNaN"),
          Decimal("-Infinity"), 1.5, True]),
        ("LowCardinality(String)", ["a", "", b"x", Reason.FREE], ["\ud800", None, 3]),
        ("String", ["é", b"\xff", Reason.FREE], ["x\udfff", 3]),
        ("Nullable(UInt8)", [None, 255], [256, -1]),
        ("Enum8('a' = 1, 'b' = 2)", ["a", "b"], ["c", None]),
    ],
)  # fmt: skip
def test_a_column_passes_at_once_only_if_every_value_does(ch_type: str, ok: list[object], bad: list[object]) -> None:
    """The column-wise check never lets a value through that the value check refuses."""
    fits, check = bulk_for(ch_type), check_for(ch_type)
    assert fits(ok)
    for value in bad:
        assert check(value) is not None  # the case is one the value check refuses
        assert not fits([*ok, value]), value
        assert not fits([value, *ok]), value


def test_strings_are_checked_joined_and_a_split_surrogate_pair_still_fails() -> None:
    fits = bulk_for("String")
    assert not fits(["\ud83d", "\ude00"])  # the halves of 😀, each alone: joined they are still two halves
    assert fits(["\U0001f600", "é"] * 3000)
    assert not fits(["é"] * 3000 + ["\udc80"])  # in a later chunk of the join
    assert bulk_for("Decimal(18, 6)")((Decimal("1.5"), 2, Decimal("0.000001")))  # a tuple, as zip(*rows) gives


def test_a_batch_with_one_bad_row_is_checked_row_by_row() -> None:
    checker = RowChecker(("day", "n", "s"), {"day": "Date", "n": "UInt8", "s": "String"})
    good = [(date(2020, 1, 1), i, f"s{i}") for i in range(200)]
    assert checker.problems(good) == {}
    rows = [*good[:100], (date(2020, 1, 1), 7, "a\ud800"), *good[100:], (date(2020, 1, 1), 256, "")]
    assert checker.problems(rows) == {100: "s: not encodable as UTF-8 at character 1", 201: "n: 256 outside 0..255"}
    with pytest.raises(ValueError):
        checker.problems([(date(2020, 1, 1), 1)])  # a row of the wrong length is still an error


class _NoOffset(tzinfo):  # a zone that cannot say its offset: comparing with an aware time raises
    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


class _Unhashable(tzinfo):  # as dateutil's tzutc and tzoffset are
    __hash__ = None  # type: ignore[assignment]

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=2)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)


def test_hostile_values_are_answers_not_exceptions() -> None:
    """Found by a red-team session: each of these raised in the row check (the flush would have stopped)
    or was judged differently column-wise and row by row."""
    amounts = RowChecker(("a",), {"a": "Decimal(38, 6)"})
    # 31 digits fit Decimal(38, 6); Python's default context (28 digits) had refused them as "more than 6 decimals"
    wide = Decimal("1234567890123456789012345.123456")
    assert amounts.problems([(wide,), (10**25,)]) == {}
    assert amounts.problems([(wide,), (Decimal("NaN"),)]) == {1: "a: NaN is not a finite number"}  # row by row
    assert amounts.problems([(Decimal("1e999999999"),)]) == {
        0: "a: 1E+999999999 does not fit Decimal(38, 6) (|x| < 10^32)"
    }
    times = RowChecker(("t",), {"t": "DateTime64(3, 'UTC')"})
    assert times.problems([(datetime(2020, 1, 1, tzinfo=_Unhashable()),)]) == {}
    assert times.problems([(datetime(2020, 1, 1, tzinfo=_NoOffset()),)]) == {
        0: "t: 2020-01-01T00:00:00 outside 1900-01-01T00:00:00+00:00..2299-12-31T23:59:59.999999+00:00"
    }
    kinds = RowChecker(("k",), {"k": "Enum8('a' = 1)"})
    assert kinds.problems([("a",), (["a"],)]) == {1: "k: ['a'] is not one of the enum's values"}


def test_a_string_is_judged_by_its_text_not_by_its_class_encode() -> None:
    class Loud(str):
        def encode(self, *args: object, **kwargs: object) -> bytes:
            raise RuntimeError("boom")

    assert check_for("String")(Loud("abc")) is None and bulk_for("String")([Loud("abc")])
    assert check_for("String")(Loud("a\ud800")) == "not encodable as UTF-8 at character 1"
