"""The gap guard's bookkeeping: holes are sought back over, and a seek that Faust undid is repeated."""

from __future__ import annotations

import asyncio

from omnimeter.streams.faust.gaps import GapGuard

TP = ("usage", 0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def guard_with(committed: int) -> tuple[GapGuard, list[int], Clock]:
    seeks: list[int] = []
    clock = Clock()

    async def seek(tp: object, offset: int) -> None:
        seeks.append(offset)

    guard = GapGuard("unused", "g", seek, retry_after_s=2.0, clock=clock, committed=lambda t, p: committed)
    return guard, seeks, clock


def admit(guard: GapGuard, offset: int, generation: int = 1) -> bool:
    return asyncio.run(guard.admit(TP, "usage", 0, offset, generation))


def test_contiguous_records_pass_and_a_hole_seeks_back_once() -> None:
    guard, seeks, _ = guard_with(committed=10)
    assert [admit(guard, o) for o in (10, 11, 12)] == [True, True, True]
    assert [admit(guard, o) for o in (15, 16, 17)] == [False, False, False]
    assert seeks == [13]  # one seek for the hole, not one per early record
    assert admit(guard, 13) and admit(guard, 14) and admit(guard, 15)
    assert guard.pending == {}


def test_an_undone_seek_is_repeated_even_when_no_other_record_arrives() -> None:
    guard, seeks, clock = guard_with(committed=0)
    admit(guard, 0)
    assert not admit(guard, 5)
    assert seeks == [1]
    clock.now += 1.0
    assert asyncio.run(guard.watch({TP}, lambda tp: None)) == 0  # not yet due
    clock.now += 1.5
    assert asyncio.run(guard.watch({TP}, lambda tp: None)) == 1
    assert seeks == [1, 1] and guard.retries == 1
    clock.now += 2.5
    assert asyncio.run(guard.watch({TP}, lambda tp: None)) == 0  # backs off: 4 s before the next one
    clock.now += 2.0
    assert asyncio.run(guard.watch({TP}, lambda tp: None)) == 1
    assert admit(guard, 1)  # the record sought arrives: nothing more to retry
    clock.now += 10
    assert asyncio.run(guard.watch({TP}, lambda tp: None)) == 0


def test_revoked_partitions_are_not_sought_and_a_rebalance_forgets_pending_seeks() -> None:
    guard, seeks, clock = guard_with(committed=0)
    admit(guard, 0)
    admit(guard, 3)
    clock.now += 5
    assert asyncio.run(guard.watch(set(), lambda tp: None)) == 0  # partition no longer assigned
    assert seeks == [1]
    assert admit(guard, 0, generation=2)  # a new generation starts from the committed offset again
    assert guard.pending == {}


def test_a_kept_partition_continues_after_what_it_was_delivered() -> None:
    guard, seeks, _ = guard_with(committed=0)
    for o in range(5):
        admit(guard, o)
    assert not admit(guard, 7, generation=2)  # committed is still 0, but 0..4 were delivered here
    assert seeks == [5]


def test_a_partition_with_records_waiting_but_none_delivered_is_sought_again() -> None:
    guard, seeks, clock = guard_with(committed=0)
    for o in range(3):
        admit(guard, o)
    hw = {TP: 50}
    clock.now += 9
    asyncio.run(guard.admit(("usage", 1), "usage", 1, 0, 1))  # another partition still delivers
    clock.now += 9
    assert asyncio.run(guard.watch({TP}, hw.get)) == 0  # quiet for 9 s: not yet a stall
    clock.now += 2
    assert asyncio.run(guard.watch({TP}, hw.get, busy=True)) == 0  # flushing (or paused): not a stall
    assert asyncio.run(guard.watch({TP}, {TP: 3}.get)) == 0  # nothing waiting
    assert asyncio.run(guard.watch({TP}, hw.get)) == 1
    assert seeks == [3]
    assert admit(guard, 3) and guard.pending == {}


def test_an_assigned_partition_that_never_delivers_is_sought_to_its_committed_offset() -> None:
    seeks: list[tuple[object, int]] = []
    clock = Clock()

    async def seek(tp: object, offset: int) -> None:
        seeks.append((tp, offset))

    committed = {0: 10, 1: 40, 2: 7}
    high = {0: 12, 1: 40, 2: 9}
    guard = GapGuard(
        "unused", "g", seek, clock=clock, committed=lambda t, p: committed[p], watermark=lambda t, p: high[p]
    )
    p0, p1, p2 = ("usage", 0), ("usage", 1), ("usage", 2)
    asyncio.run(guard.admit(p0, "usage", 0, 10, 1))
    asyncio.run(guard.admit(p0, "usage", 0, 11, 1))
    assigned = {p0, p1, p2}
    clock.now += 9
    assert asyncio.run(guard.watch(assigned, lambda tp: None)) == 0  # quiet for 9 s only
    clock.now += 2
    # p0 delivered all it has; p1 has nothing waiting; p2 has 2 records and never delivered (Faust has no
    # high watermark for it either): only p2 is sought, to the group's committed offset
    assert asyncio.run(guard.watch(assigned, {p0: 12}.get)) == 1
    assert seeks == [(p2, 7)]
    assert asyncio.run(guard.admit(p2, "usage", 2, 7, 1)) and guard.pending == {}
