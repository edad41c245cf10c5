"""The window-state cache in front of the Faust table: write-through, bounded, filled only by the agent."""

from __future__ import annotations

from datetime import UTC, datetime

from omnimeter.pricing.whatsapp import WindowState
from omnimeter.streams.faust.windows import WindowCache

KEY = ("tenant-a", "wa-1", "+100")
T = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_states_are_written_through_and_read_back_decoded() -> None:
    table: dict[str, object] = {}
    cache = WindowCache(table)
    assert cache.load(KEY) is None
    state = WindowState(inbound=(T,))
    cache.store(KEY, state)
    assert table["tenant-a|wa-1|+100"] == state.to_bytes()
    assert cache.load(KEY) is state and cache.peek(KEY) is state
    cache.clear()
    assert cache.load(KEY) == state  # decoded again from the table


def test_peek_never_fills_the_cache() -> None:
    table: dict[str, object] = {"tenant-a|wa-1|+100": WindowState(outbound=(T,)).to_bytes()}
    cache = WindowCache(table)
    assert cache.peek(KEY) == WindowState(outbound=(T,))
    table["tenant-a|wa-1|+100"] = WindowState(inbound=(T,)).to_bytes()  # written meanwhile
    assert cache.load(KEY) == WindowState(inbound=(T,))


def test_the_cache_stays_bounded() -> None:
    table: dict[str, object] = {}
    cache = WindowCache(table, max_entries=10)
    for i in range(25):
        cache.store(("t", "a", str(i)), WindowState(inbound=(T,)))
    assert len(cache._states) <= 10 and len(table) == 25
