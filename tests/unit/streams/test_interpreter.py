"""The worker's interpreter settings and the `gc` stage that measures the collector."""

from __future__ import annotations

import gc
import itertools
import sys
from collections.abc import Iterator

import pytest

from omnimeter.streams import interpreter
from omnimeter.streams.timing import StageTimes


@pytest.fixture
def restored_interpreter() -> Iterator[None]:
    before, switch = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)
    sys.setswitchinterval(switch)
    gc.callbacks[:] = [
        cb for cb in gc.callbacks if getattr(cb, "__qualname__", "") != "StageTimes.watch_gc.<locals>.on_gc"
    ]


def test_collector_passes_are_timed_as_the_gc_stage(restored_interpreter: None) -> None:
    times = StageTimes()
    times.watch_gc()
    samples = {
        s.labels["stage"]: s.value for fam in times.collect() for s in fam.samples if fam.name.endswith("cpu_seconds")
    }
    assert samples["gc"] == 0.0
    garbage = [[] for _ in range(200_000)]
    for a, b in itertools.pairwise(garbage):
        a.append(b)  # a long chain for the collector to walk
    gc.collect()
    walls = {
        s.labels["stage"]: s.value
        for fam in times.collect()
        for s in fam.samples
        if fam.name == "omnimeter_stage_seconds"
    }
    assert walls["gc"] > 0.0


def test_a_pass_inside_the_stage_lock_does_not_deadlock(restored_interpreter: None) -> None:
    times = StageTimes()
    times.watch_gc()
    with times._lock:  # an allocation under the lock may start a pass: its callback must not take the lock
        gc.collect()
    times.add("parse", 1.0, 1.0)
    assert times.wall["parse"] == 1.0


def test_settle_freezes_start_up_collects_young_objects_later_and_switches_less(restored_interpreter: None) -> None:
    interpreter.settle(50_000, 0.02)
    assert gc.get_threshold() == (50_000, interpreter.MIDDLE_EVERY, interpreter.OLDEST_EVERY)
    assert sys.getswitchinterval() == pytest.approx(0.02)
    assert gc.get_freeze_count() > 10_000  # the modules and objects imported so far
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1  # cycles made after start-up are still collected
