"""Decoded WhatsApp window states in front of the Faust table that holds them.

Every WhatsApp message reads its conversation's state twice (when it arrives and when it is rated), and
a table read is a RocksDB get and a decode of every timestamp. This worker is the only
writer of the conversations of its partitions, so it keeps the states it wrote or read in a bounded dict
(cleared when full, and on every rebalance, when partitions and their states may have moved).

Only the agent (event loop thread) fills the cache. The rating thread only reads it: were it to fill it
too, a state it read from the table just before the agent's next write could land after that write and
hide it.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from pricing.whatsapp import WindowState

ConversationKey = tuple[str, str, str]
_MISSING: Any = object()


def window_key(key: ConversationKey) -> str:
    return "|".join(key)


class WindowCache:
    def __init__(self, table: MutableMapping[str, Any], max_entries: int = 100_000) -> None:
        self.table = table
        self.max_entries = max_entries
        self._states: dict[str, WindowState | None] = {}

    def load(self, key: ConversationKey) -> WindowState | None:
        """The state before the next change (agent only: remembers what it read)."""
        k = window_key(key)
        state = self._states.get(k, _MISSING)
        if state is _MISSING:
            state = self._decode(self.table.get(k))
            self._remember(k, state)
        return state  # type: ignore[no-any-return]

    def store(self, key: ConversationKey, state: WindowState) -> None:
        """Write a changed state to the table (its changelog) and remember it (agent only)."""
        k = window_key(key)
        self.table[k] = state.to_bytes()
        self._remember(k, state)

    def peek(self, key: ConversationKey) -> WindowState | None:
        """The current state, for rating (any thread; never fills the cache)."""
        k = window_key(key)
        state = self._states.get(k, _MISSING)
        return self._decode(self.table.get(k)) if state is _MISSING else state  # type: ignore[no-any-return]

    def clear(self) -> None:
        self._states = {}

    def _remember(self, k: str, state: WindowState | None) -> None:
        if len(self._states) >= self.max_entries:
            self._states = {}
        self._states[k] = state

    @staticmethod
    def _decode(raw: Any) -> WindowState | None:
        return WindowState.from_bytes(raw) if raw else None
