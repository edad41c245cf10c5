"""Errors of the storage side. An infrastructure failure raises one of these; it is never dead-lettered.

SinkError
 ├── SinkUnavailable (Transient)   refused, timed out, overloaded: retried until the store is back
 │    └── SinkStopped              the worker is stopping: retries end, nothing more is acked
 ├── SinkRefused                   the engine refused these rows (their data): retried a few times,
 │                                 then the events are quarantined (`store_refused`)
 ├── SinkPermanent (Permanent)     authentication, a missing table or column: the worker stops
 ├── SinkGaveUp (Permanent)        `write` retried for as long as it was told to
 └── MigrationError (Permanent)    a migration failed
"""

from omnimeter.errors import OmnimeterError, Permanent, Transient


class SinkError(OmnimeterError):
    """ClickHouse could not be reached, migrated or written."""


class SinkUnavailable(SinkError, Transient):
    """One attempt failed (refused, timed out, overloaded); the caller may retry."""


class SinkStopped(SinkUnavailable):
    """The store is stopping: a retry loop ended without an answer."""


class SinkRefused(SinkError):
    """The engine (or the driver encoding the block) refused the rows of one insert: their data, not the
    store's health. `table` names the block's table."""

    def __init__(self, message: str, table: str) -> None:
        super().__init__(message)
        self.table = table


class SinkPermanent(SinkError, Permanent):
    """Retrying cannot help (authentication, access, a missing database, table or column)."""


class SinkGaveUp(SinkError, Permanent):
    """Retried for as long as configured; the message says what to do."""


class MigrationError(SinkError, Permanent):
    """A migration failed; the store is left at the last version that applied."""
