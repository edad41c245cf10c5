"""The worker's garbage collector: fewer, cheaper passes.

A worker allocates many short-lived containers per event (parsed JSON, pydantic models, rows) and keeps a
large, long-lived heap (imported modules, the reference data, Faust's tables and caches). With Python's
default thresholds (a young collection every 700 allocations, an older one every 10 of those) the
collector walked that heap often: `make bench` measured its passes (the `gc` stage,
`omnimeter_stage_cpu_seconds_total{stage="gc"}`) at 77 µs per single-event record and 40 µs per batch
event, 8-11% of the worker's CPU, each pass holding the GIL. `settle` moves what start-up built into the
permanent generation (`gc.freeze`: never traversed again) and collects the young generation every
`young` allocations instead (`OMNIMETER_WORKER_GC_YOUNG_THRESHOLD`, 50,000 by default): the bench then
measured 20 and 11 µs. Cycles are still collected, only later; nothing is disabled.
"""

from __future__ import annotations

import gc

MIDDLE_EVERY = 20  # young collections per collection of the middle generation (Python's default 10)
OLDEST_EVERY = 100  # middle collections per look at the oldest (default 10; it also waits for 25% growth)


def settle(young: int) -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, MIDDLE_EVERY, OLDEST_EVERY)
