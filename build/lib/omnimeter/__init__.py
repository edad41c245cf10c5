"""omnimeter: usage metering and rating for omnichannel contact-center / CPaaS platforms.

The application shell lives here (settings, command line, local broker, generator, demo); the data path
lives in the top-level packages `schemas` -> `streams` -> `sinks`, with `pricing` for the pure rules.
"""

__version__ = "0.1.0"
