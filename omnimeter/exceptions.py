"""The root of omnimeter's errors.

    OmnimeterError
     ├── ConfigError          settings that cannot work (all problems listed at once)
     ├── KafkaSetupError      the local broker could not be fetched, formatted or started
     └── sinks.SinkError      ClickHouse could not be reached or written (see sinks/exceptions.py)

Errors carry a message meant for the operator: what failed and what to do about it.
"""


class OmnimeterError(Exception):
    """Base of every error omnimeter raises on purpose."""


class ConfigError(OmnimeterError):
    """Configuration is invalid; the message lists every problem."""


class KafkaSetupError(OmnimeterError):
    """The local Kafka broker could not be fetched, formatted or started."""
