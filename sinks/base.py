"""The contract between the ingest stage and storage: rows grouped by table, written idempotently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class TableRows:
    """Rows for one table, in `columns` order, with the deduplication token of this exact block."""

    table: str
    columns: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)
    token: str = ""


class Sink(Protocol):
    def write(self, blocks: Sequence[TableRows]) -> None:
        """Insert every non-empty block. Returns only when all are stored; a retry of the same blocks
        with the same tokens stores nothing twice. Raises `SinkError` when it gives up."""
        ...
