"""Fault injection for the reliability suite (tests/faults/). Inert unless ``Settings.faults`` (the
environment variable OMNIMETER_FAULTS) is set; the worker builds one `Faults` from its settings and hands
it to the store and to its HTTP endpoint.

``OMNIMETER_FAULTS="crash_during_insert=P"``: each ClickHouse insert has probability P of the process
SIGKILLing itself 0-20 ms after the insert started, while the engine is writing the part (a crash no
signal handler, flush or commit can soften). With OMNIMETER_FAULTS set at all, the worker's HTTP endpoint
also takes ``POST /faults/sink-down?seconds=N`` (with a platform token): for N seconds every insert and
query fails as if ClickHouse refused connections (``&inserts=1``: only inserts fail, queries answer).

``OMNIMETER_FAULTS="fail_rating=PREFIX"``: rating an event whose id starts with PREFIX raises (the event
must be dead-lettered ``rating_failed`` and its batch go on). Never set any of these in production.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time


class SinkDown(ConnectionRefusedError):
    """Injected: ClickHouse refuses connections."""


class RatingFault(RuntimeError):
    """Injected: rating this event raises."""


class Faults:
    """Parsed from a spec such as ``"crash_during_insert=0.05"``; an empty spec injects nothing."""

    def __init__(self, spec: str = "") -> None:
        self.enabled = bool(spec.strip())
        opts = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
        self.crash_during_insert = float(opts.get("crash_during_insert", 0))
        self.fail_rating = opts.get("fail_rating", "")
        self._down_until = 0.0
        self._inserts_down_until = 0.0
        self._rnd = random.Random()

    def sink_down_for(self, seconds: float, inserts_only: bool = False) -> None:
        if inserts_only:
            self._inserts_down_until = time.monotonic() + seconds
        else:
            self._down_until = time.monotonic() + seconds

    def check_sink(self) -> None:
        if self.enabled and time.monotonic() < self._down_until:
            raise SinkDown("injected fault: ClickHouse refuses connections")

    def before_rating(self, event_id: str) -> None:
        if self.fail_rating and event_id.startswith(self.fail_rating):
            raise RatingFault(f"injected fault: rating {event_id} raises")

    def before_insert(self, table: str) -> None:
        if not self.enabled:
            return
        self.check_sink()
        if time.monotonic() < self._inserts_down_until:
            raise SinkDown("injected fault: ClickHouse refuses inserts")
        if self.crash_during_insert and self._rnd.random() < self.crash_during_insert:
            delay = self._rnd.uniform(0.0, 0.02)

            def crash() -> None:
                os.write(2, f"\nomnimeter fault: SIGKILL during insert into {table}\n".encode())
                os.kill(os.getpid(), signal.SIGKILL)

            threading.Timer(delay, crash).start()


NO_FAULTS = Faults()
