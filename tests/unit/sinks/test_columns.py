"""The row checker refuses exactly the values ClickHouse would refuse or silently clamp."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from omnimeter.sinks.columns import RowChecker, check_for


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
