"""Errors of the storage side. An infrastructure failure raises one of these; it is never dead-lettered."""

from omnimeter.errors import OmnimeterError, Permanent, Transient


class SinkError(OmnimeterError):
    """ClickHouse could not be reached, migrated or written."""


class SinkUnavailable(SinkError, Transient):
    """One attempt failed (refused, timed out, or the engine said no); the caller may retry."""


class SinkGaveUp(SinkError, Permanent):
    """Retried for as long as configured; the message says what to do."""


class MigrationError(SinkError, Permanent):
    """A migration failed; the store is left at the last version that applied."""
