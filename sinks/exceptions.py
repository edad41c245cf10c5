"""Errors of the storage side. An infrastructure failure raises one of these; it is never dead-lettered."""

from omnimeter.exceptions import OmnimeterError


class SinkError(OmnimeterError):
    """ClickHouse could not be reached, migrated or written."""


class MigrationError(SinkError):
    """A migration failed; the store is left at the last version that applied."""
