"""Where a worker's time goes, per pipeline stage: wall and CPU seconds, always on and cheap.

Each stage adds its wall time (`perf_counter`) and the CPU time of the thread it ran on (`thread_time`:
the flush's look-ups, rating and inserts run in worker threads, classification on the event loop) to two
plain dicts under a lock; the per-record stages (parse, window) read the CPU clock for one record in 16
and scale it (a CPU clock read is a system call, too dear for every record).
Prometheus reads them as counters
`omnimeter_stage_seconds_total{stage}` and `omnimeter_stage_cpu_seconds_total{stage}` (a closed set of
stages, `STAGES`). Divided by the accounted events (the bench does), they give microseconds per event;
what the event loop thread spends outside every stage is Faust's delivery (fetcher, stream, acks'
bookkeeping) and the loop itself.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

P = ParamSpec("P")
T = TypeVar("T")

STAGES = (
    "parse",  # schemas/parse.py on each arriving record
    "window",  # the WhatsApp window update of each arriving event (Faust table write, its changelog)
    "replay",  # flush step 1: positions already stored (only where a partition does not continue)
    "dedupe",  # flush step 2: the look-up of this batch's keys in raw_events
    "classify",  # flush step 2: stored / duplicate / rejected, and the rows of raw_events
    "rate",  # flush step 3: classification and pricing, and the rows of billable_lines
    "check",  # flush step 4: every row against its column types
    "publish",  # flush step 5: dead letters
    "insert",  # flush step 6: every table's insert
    "changelog",  # flush step 7: the producer flush that makes the window changelog durable
    "ack",  # flush step 8: Faust's ack of every record
    "rollup",  # the rollup refresh after a flush stored lines
    "alerts",  # the alert round (streams/alerts.py): thresholds of the tenants whose lines were stored
    "gc",  # the garbage collector's passes, inside whichever stage (or Faust's delivery) allocated
)


class StageTimes(Collector):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.wall: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.cpu: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self._gc = [0.0, 0.0]  # wall, CPU seconds of the garbage collector's passes (`watch_gc`)

    def add(self, stage: str, wall: float, cpu: float) -> None:
        with self._lock:
            self.wall[stage] += wall
            self.cpu[stage] += cpu

    @contextmanager
    def stage(self, name: str, cpu: bool = True) -> Iterator[None]:
        """Times the block as `name` (on the thread that runs it). A block that awaits: `cpu=False`, its
        wall time only (the loop runs other tasks meanwhile, on the same thread's CPU clock)."""
        w, c = time.perf_counter(), time.thread_time() if cpu else 0.0
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - w, time.thread_time() - c if cpu else 0.0)

    def watch_gc(self) -> None:
        """Time the garbage collector's passes as the `gc` stage. A pass holds the GIL and may start
        inside any allocation, even one made under `_lock`: its times are kept apart, without the lock."""
        started, spent = [0.0, 0.0], self._gc

        def on_gc(phase: str, _info: dict[str, int]) -> None:
            if phase == "start":
                started[0], started[1] = time.perf_counter(), time.thread_time()
            else:
                spent[0] += time.perf_counter() - started[0]
                spent[1] += time.thread_time() - started[1]

        gc.callbacks.append(on_gc)

    def timed(self, name: str, fn: Callable[P, T]) -> Callable[P, T]:
        """`fn`, timed as `name` on the thread that calls it (for `asyncio.to_thread`)."""

        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            with self.stage(name):
                return fn(*args, **kwargs)

        return call

    def collect(self) -> Iterable[CounterMetricFamily]:
        with self._lock:
            wall, cpu = dict(self.wall), dict(self.cpu)
        wall["gc"], cpu["gc"] = self._gc
        w = CounterMetricFamily("omnimeter_stage_seconds", "Wall time spent per pipeline stage", labels=["stage"])
        c = CounterMetricFamily(
            "omnimeter_stage_cpu_seconds", "CPU time of the thread that ran each pipeline stage", labels=["stage"]
        )
        for name in STAGES:
            w.add_metric([name], wall[name])
            c.add_metric([name], cpu[name])
        yield w
        yield c
