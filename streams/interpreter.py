"""The worker's interpreter: fewer garbage-collector passes and fewer GIL hand-overs.

A worker allocates many short-lived containers per event (parsed JSON, pydantic models, rows) and keeps a
large, long-lived heap (imported modules, the reference data, Faust's tables and caches). With Python's
default thresholds (a young collection every 700 allocations, an older one every 10 of those) the
collector walked that heap often: `make bench` measured its passes (the `gc` stage,
`omnimeter_stage_cpu_seconds_total{stage="gc"}`) at 77 µs per single-event record and 40 µs per batch
event, 8-11% of the worker's CPU, each pass holding the GIL. `settle` moves what start-up built into the
permanent generation (`gc.freeze`: never traversed again) and collects the young generation every
`young` allocations instead (`OMNIMETER_WORKER_GC_YOUNG_THRESHOLD`, 50,000 by default): the bench then
measured 17 and 10 µs. Cycles are still collected, only later; nothing is disabled.

The flush rates and checks rows in a thread while the event loop thread parses the next records: both
want the GIL, and Python hands it over every 5 ms, each time on a core whose caches hold the other
thread's data. With hand-overs every 20 ms (`OMNIMETER_WORKER_GIL_SWITCH_INTERVAL_S`) the bench's batch
pipeline went from 2,726 to 3,330 events/s and its CPU per event from 420 to 339 µs (single-event records
1,707 to 1,992 records/s), in back-to-back runs. The loop then waits up to 20 ms for the GIL: far below
the flush interval and the consumer's heartbeat.
"""

from __future__ import annotations

import gc
import sys

MIDDLE_EVERY = 20  # young collections per collection of the middle generation (Python's default 10)
OLDEST_EVERY = 100  # middle collections per look at the oldest (default 10; it also waits for 25% growth)


def settle(young: int, switch_interval_s: float) -> None:
    """Call once start-up is done, before the first record."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, MIDDLE_EVERY, OLDEST_EVERY)
    sys.setswitchinterval(switch_interval_s)
