"""The root of omnimeter's errors. Imports nothing of the project; every package's errors derive from these.

    OmnimeterError                 raised on purpose; the message says what failed and what to do
     ├── BadInput                  one input is wrong: routed as an outcome (dead letter, 4xx), never retried
     │    ├── schemas.ReferenceDataError   a directory or price-book file, every problem listed
     │    └── reports: PeriodError, InvalidToken, Forbidden, NotFound, NoReferenceData
     ├── Transient                 infrastructure that may come back: retried with backoff, heals by itself
     │    └── sinks.SinkUnavailable        ClickHouse refused or timed out
     ├── Permanent                 cannot heal by retrying: the stage stops, the process exits non-zero
     │    ├── sinks.SinkError              a write or migration gave up (MigrationError)
     │    └── KafkaSetupError              the local broker could not be fetched, formatted or started
     └── ConfigError               settings that cannot work (every problem listed at once)

How a caller treats them: a stage turns `BadInput` into an outcome with a reason and goes on; it retries
`Transient`; it stops on `Permanent` and `ConfigError` and prints the message (never a traceback).
"""

from __future__ import annotations


class OmnimeterError(Exception):
    """Base of every error omnimeter raises on purpose."""


class BadInput(OmnimeterError):
    """One input (an event, a reference file, a request parameter) is invalid. Routed as an outcome with
    its reason; it never stops a stage and is never retried."""


class Transient(OmnimeterError):
    """A dependency is unreachable for now. Retried with backoff; nothing is acked meanwhile."""


class Permanent(OmnimeterError):
    """Retrying cannot help. The stage stops and the message says what to do."""


class ConfigError(OmnimeterError):
    """Configuration is invalid; the message lists every problem."""


class KafkaSetupError(Permanent):
    """The local Kafka broker could not be fetched, formatted or started."""
