"""The faster string escaping installed into clickhouse-connect gives the library's own output."""

from clickhouse_connect.driver import binding
from hypothesis import given
from hypothesis import strategies as st

from sinks.clickhouse import _faster_escape_str


def _library_escape(value: str) -> str:  # clickhouse-connect's definition, character by character
    return "".join(f"{binding.BS}{c}" if c in binding.must_escape else c for c in value)


@given(st.text(alphabet=st.sampled_from(["a", "é", "'", "\\", "`", "\t", "\n", "{", "%", "\0"]), max_size=40))
def test_same_output_as_the_library(value: str) -> None:
    assert _faster_escape_str(value) == _library_escape(value)


def test_installed_for_bound_parameters() -> None:
    assert binding.escape_str is _faster_escape_str
    assert binding.format_bind_value(["it's", "a\\b"]) == "['it\\'s', 'a\\\\b']"
