"""The shared store's wire format (sinks/shared.py) keeps every type a row can hold."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

import pytest

from omnimeter.sinks.queries import StringArray
from omnimeter.sinks.shared import dumps, loads


def test_shared_store_wire_format_keeps_types() -> None:
    rows = [("t", Decimal("0.012345"), datetime(2026, 11, 22, 5, 0, tzinfo=UTC), date(2026, 11, 1), 7, b"\xff", None)]
    assert [tuple(r) for r in loads(dumps(rows))] == rows
    assert loads(dumps({"k": [("a", "b", "c")], "s": datetime(2026, 1, 1, tzinfo=UTC)}))["s"].tzinfo is not None


def test_string_array_parameters_cross_the_wire() -> None:
    params = loads(dumps({"e": StringArray(["it's", "x"]), "s": datetime(2026, 1, 1, tzinfo=UTC)}))
    assert params["e"] == StringArray(["it's", "x"]) and str(params["e"]) == "['it\\'s', 'x']"


def test_rows_of_any_sequence_and_every_decimal_cross_the_wire() -> None:
    class Reason(StrEnum):
        WINDOW = "window"

    specials = [Decimal("NaN"), Decimal("-0"), Decimal("1E+30"), Decimal("-0.000001")]
    rows = [range(3), (Reason.WINDOW, [("x", 1)], *specials)]
    back = loads(dumps({"rows": rows}))["rows"]
    assert back[0] == [0, 1, 2]
    assert back[1][:2] == ["window", [["x", 1]]] and type(back[1][0]) is str
    assert [str(d) for d in back[1][2:]] == [str(d) for d in specials]  # NaN != NaN: compared as text


def test_a_value_the_wire_has_no_type_for_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="no UUID"):
        dumps({"rows": [(uuid.uuid4(),)]})


def test_bytes_like_values_are_refused_not_sent_as_lists_of_numbers() -> None:
    with pytest.raises(TypeError, match="no bytearray"):
        dumps({"rows": [(bytearray(b"x"),)]})
