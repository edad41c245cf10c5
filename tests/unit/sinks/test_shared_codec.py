"""The shared store's wire format (sinks/shared.py) keeps every type a row can hold."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from omnimeter.sinks.queries import StringArray
from omnimeter.sinks.shared import dumps, loads


def test_shared_store_wire_format_keeps_types() -> None:
    rows = [("t", Decimal("0.012345"), datetime(2026, 11, 22, 5, 0, tzinfo=UTC), date(2026, 11, 1), 7, b"\xff", None)]
    assert [tuple(r) for r in loads(dumps(rows))] == rows
    assert loads(dumps({"k": [("a", "b", "c")], "s": datetime(2026, 1, 1, tzinfo=UTC)}))["s"].tzinfo is not None


def test_string_array_parameters_cross_the_wire() -> None:
    params = loads(dumps({"e": StringArray(["it's", "x"]), "s": datetime(2026, 1, 1, tzinfo=UTC)}))
    assert params["e"] == StringArray(["it's", "x"]) and str(params["e"]) == "['it\\'s', 'x']"
