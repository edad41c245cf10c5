"""The SQL builders of the hot path, pinned as exact SQL, and the local string escaping that binds the
dedupe look-up's arrays: the same text clickhouse-connect would produce, without patching the library."""

from __future__ import annotations

from datetime import UTC, date, datetime

from clickhouse_connect.driver import binding
from hypothesis import given
from hypothesis import strategies as st

from omnimeter.sinks import queries
from omnimeter.sinks.queries import StringArray, escape

AWKWARD = st.text(alphabet=st.sampled_from(["a", "é", "'", "\\", "`", "\t", "\n", "{", "%", "\0", "]"]), max_size=40)


@given(AWKWARD)
def test_escape_matches_the_library(value: str) -> None:
    assert escape(value) == binding.escape_str(value)


@given(st.lists(AWKWARD, max_size=8))
def test_string_array_binds_like_a_list(values: list[str]) -> None:
    assert binding.format_bind_value(StringArray(values)) == binding.format_bind_value(values)


def test_library_is_not_patched() -> None:
    assert binding.escape_str.__module__ == binding.__name__


def test_recorded_positions() -> None:
    assert queries.recorded_positions("db", "raw_events", "usage", 3, 42) == (
        "SELECT kafka_offset, batch_index FROM db.raw_events "
        "WHERE kafka_topic = %(t)s AND kafka_partition = %(p)s AND kafka_offset >= %(o)s",
        {"t": "usage", "p": 3, "o": 42},
    )


def test_stored_keys() -> None:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    sql, params = queries.stored_keys("db", [("t2", "s", "a'1"), ("t1", "s", "b")], since)
    assert sql == (
        "SELECT tenant_id, source, event_id FROM db.raw_events "
        "WHERE tenant_id IN {t:Array(String)} AND event_id IN {e:Array(String)} "
        "AND ingested_at >= {s:DateTime64(3, 'UTC')}"
    )
    assert (str(params["t"]), str(params["e"]), params["s"]) == ("['t1', 't2']", "['a\\'1', 'b']", since)


def test_cycle_usage_and_seats() -> None:
    assert queries.cycle_usage("db", "t1", date(2026, 11, 5)) == (
        "SELECT meter, sumIf(quantity, free_reason = ''), sumIf(quantity_platform, free_reason_platform = '') "
        "FROM db.billable_lines WHERE tenant_id = %(t)s AND cycle_start = %(c)s "
        "GROUP BY meter",
        {"t": "t1", "c": date(2026, 11, 5)},
    )
    assert queries.cycle_seats("db", "t1", date(2026, 11, 5)) == (
        "SELECT DISTINCT meter, user_id FROM db.billable_lines WHERE tenant_id = %(t)s "
        "AND cycle_start = %(c)s AND startsWith(meter, 'seats.active.')",
        {"t": "t1", "c": date(2026, 11, 5)},
    )


def test_the_reversal_test_reads_the_line_index_and_is_safe_in_parameterised_queries() -> None:
    from omnimeter.sinks.tables import LINES_IN_EFFECT, REVERSAL

    # a '%' would be taken for a parameter by clickhouse-connect's %(name)s formatting
    assert REVERSAL == "(corrects_line_id != '' AND modulo(intDiv(line_index, 100), 2) = 1)"
    assert "%" not in LINES_IN_EFFECT
