"""WhatsApp window states: the Faust table that holds them (RocksDB plus its changelog), the decoded
states cached in front of it, and the read that works from any context.

Every WhatsApp message reads its conversation's state twice (when it arrives and when it is rated), and
a table read is a RocksDB get and a decode of every timestamp. This worker is the only
writer of the conversations of its partitions, so it keeps the states it wrote or read in a bounded dict
(cleared when full, and on every rebalance, when partitions and their states may have moved).

Only the agent (event loop thread) fills the cache. The rating thread only reads it: were it to fill it
too, a state it read from the table just before the agent's next write could land after that write and
hide it.

The empty-context read: Faust's RocksDB store answers a `get` made while an event is current (as in the
agent, or in a task created from it) from the partition of *that* event only. Rating reads the states of
every partition in a flush, so `peek` reads the table in a fresh, empty context, where every key is found.
"""

from __future__ import annotations

import contextvars
from collections.abc import MutableMapping
from typing import Any

from omnimeter.pricing.units import window_step
from omnimeter.pricing.whatsapp import WindowState
from omnimeter.schemas.events import UsageEvent

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
        if state is _MISSING:
            return self._decode(contextvars.Context().run(self.table.get, k))
        return state  # type: ignore[no-any-return]

    def observe(self, event: UsageEvent) -> None:
        """Apply an arriving event's change to its conversation's windows (in the agent's context, so the
        change goes to the changelog partition of the event's own partition); unchanged: no write."""
        step = window_step(event, self.load)
        if step is not None and step[1] != self.load(step[0]):  # (the second load is a cache hit)
            self.store(*step)

    def partitions_changed(self) -> None:
        """Rebalance hook: states of partitions that moved may have changed elsewhere."""
        self.clear()

    def clear(self) -> None:
        self._states = {}

    def _remember(self, k: str, state: WindowState | None) -> None:
        if len(self._states) >= self.max_entries:
            self._states = {}
        self._states[k] = state

    @staticmethod
    def _decode(raw: Any) -> WindowState | None:
        return WindowState.from_bytes(raw) if raw else None
