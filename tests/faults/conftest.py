"""The fault-injection suite prints its figures at the end of the run, whatever pytest's verbosity."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults.harness import FIGURES, STARTED


@pytest.fixture(autouse=True)
def no_worker_outlives_its_test() -> Iterator[None]:
    yield
    while STARTED:
        STARTED.pop().kill()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    tr = terminalreporter
    tr.section("fault injection: figures")
    cols = list(FIGURES[0])
    for row in FIGURES:
        tr.write_line(" | ".join(f"{c}: {row[c]}" for c in cols))
    tr.write_line(
        f"total: {sum(r['events sent'] for r in FIGURES)} events sent, "
        f"{sum(r['lost'] for r in FIGURES)} lost, {sum(r['double-counted'] for r in FIGURES)} double-counted"
    )
