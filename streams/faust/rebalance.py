"""The one rebalance hook. Every holder of per-partition state registers here, and is told whenever the
group's assignment changes: on Faust's partitions-revoked and partitions-assigned signals, and when the
delivery guard sees records of a new generation (whichever comes first; telling twice is harmless).

Holders forget what another worker may have changed meanwhile; none of them may do I/O or block here.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)


class PartitionStateHolder(Protocol):
    def partitions_changed(self) -> None:
        """Forget state of partitions that may have moved (called on the event loop, between records)."""
        ...


H = TypeVar("H", bound=PartitionStateHolder)


class RebalanceHook:
    def __init__(self) -> None:
        self.holders: list[PartitionStateHolder] = []
        self.changes = 0

    def register(self, holder: H) -> H:
        self.holders.append(holder)
        return holder

    def changed(self) -> None:
        self.changes += 1
        for holder in self.holders:
            holder.partitions_changed()

    def connect(self, app: Any) -> None:
        """Listen to the Faust app's partitions-revoked and partitions-assigned signals."""

        app.on_partitions_revoked.connect(self._on_signal)  # strong references: kept for the app's life
        app.on_partitions_assigned.connect(self._on_signal)

    async def _on_signal(self, sender: object, *partitions: object, **kwargs: Any) -> None:
        self.changed()
