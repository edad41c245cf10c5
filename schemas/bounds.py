"""Every bound an input is checked against at the edge, in one place (DESIGN.md section 5).

A value that reaches a fixed-range ClickHouse column or a computation is bounded where it enters: an event
in schemas/events.py and schemas/parse.py, a price book in pricing/books.py, a directory in
schemas/directory.py, a reference YAML file in schemas/problems.py. What is outside a bound is refused with
the field named (an event: dead-lettered with a reason; a file: refused with every problem listed), so it
never fails an insert or raises in rating.

The columns (sinks/migrations) and what keeps each in range:

| column                          | range                              | kept in range by                     |
|---------------------------------|------------------------------------|--------------------------------------|
| `event_time` DateTime64(3)      | 1900-01-01 .. 2299-12-31           | EARLIEST_EVENT_TIME .. now + skew    |
| `cycle_start` Date              | 1970-01-01 .. 2149-06-06           | cycle start >= event time - 1 year   |
| `quantity` Decimal(18, 6)       | < 10^12                            | MAX_LINE_QUANTITY                    |
| `amount_*` Decimal(18, 6)       | < 10^12                            | MAX_LINE_QUANTITY * MAX_RATE / MIN_PER + fees |
| `batch_index` UInt32            | < 2^32                             | the record size (max_record_bytes)   |

Cycle charges (reports) are Decimal in Python and Decimal(38, 6) in the rollups: a cycle's quantity is
not bounded, only each line's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

# Times. The business range of event times starts at `IngestSettings.min_event_time` (default
# DEFAULT_MIN_EVENT_TIME); no setting may start it before EARLIEST_EVENT_TIME, so that a yearly cycle
# containing the earliest event still starts inside the `Date` column (1970-01-01).
EARLIEST_EVENT_TIME = datetime(1971, 1, 1, tzinfo=UTC)
DEFAULT_MIN_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
# The future end is the worker clock plus `max_future_skew_s`, itself at most MAX_FUTURE_SKEW: far inside
# `Date` (2149-06-06) and `DateTime64` (2299-12-31).
MAX_FUTURE_SKEW = timedelta(days=366)

# Event fields that become quantities.
MAX_DURATION_S = 7 * 24 * 3600  # call.completed / video_call.completed duration_s (one week)
MAX_SEGMENTS = 255  # SMS segments a producer may report (the concatenation limit of TS 23.040)
MAX_PARTICIPANTS = 10_000  # video_call.completed participants
MAX_BODY_CHARS = 65_536  # an SMS body: at most ~1,000 segments

# The largest quantity of one billable line: voice seconds of the longest call plus the largest billing
# increment (99,999 s), SMS segments of the longest body, video minutes of the longest call.
MAX_LINE_QUANTITY = Decimal(1_000_000)

# Price books. A rate is an amount per `per` units; fees and minimums are amounts.
MAX_RATE = Decimal(100_000)  # unit, by_country, by_prefix, tier unit, package_price
MIN_PER = Decimal(1)  # `per`: a rate is for at least one unit (60 for per-minute on seconds) ...
MAX_PER = Decimal(1_000_000)  # ... and at most a million
MAX_FEE = Decimal(1_000_000)  # connection_fee, tier flat, minimum
MAX_TIERS = 100
MAX_TIER_BOUND = Decimal(10) ** 12  # tiers' up_to (a cycle quantity)
MIN_PACKAGE_SIZE = Decimal(1)
MAX_PACKAGE_SIZE = Decimal(10) ** 12
MAX_PERCENT = Decimal(1000)
MAX_DECIMAL_PLACES = 12  # of any rate or amount in a price book (amounts are stored with 6)

# The Decimal(18, 6) columns hold less than 10^12.
DECIMAL_18_6_LIMIT = Decimal(10) ** 12
# The largest amount one line can carry (per-unit or a tier's rate on the largest line, its connection fee
# and every tier's flat fee entered at once), checked to fit.
MAX_LINE_AMOUNT = MAX_LINE_QUANTITY * MAX_RATE / MIN_PER + MAX_FEE * (MAX_TIERS + 1)
assert MAX_LINE_AMOUNT < DECIMAL_18_6_LIMIT
assert (MAX_LINE_QUANTITY / MIN_PACKAGE_SIZE + 1) * MAX_RATE < DECIMAL_18_6_LIMIT  # package: blocks * price
assert MAX_LINE_QUANTITY * MAX_PERCENT / 100 < DECIMAL_18_6_LIMIT

# The directory.
MAX_COMMITMENT = Decimal(10) ** 12  # a commitment's included quantity
MAX_MONEY = Decimal(10) ** 11  # a tenant's carrier credit

# Reference YAML files (directory, price books): refused before any Python object is built.
MAX_YAML_BYTES = 4 * 1024 * 1024
MAX_YAML_DEPTH = 32  # nested mappings and sequences
# Anchors and aliases are refused outright: reference files do not need them, and an alias bomb of a few
# hundred bytes expands to gigabytes.

# Event records: JSON nested deeper than this is refused (an envelope needs 4 levels; a deeper `error`
# object could not be stored).
MAX_JSON_DEPTH = 32
