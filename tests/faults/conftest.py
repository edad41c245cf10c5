"""Every worker a fault test started is gone when the test ends (the figures are printed by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.harness import STARTED


@pytest.fixture(autouse=True)
def no_worker_outlives_its_test() -> Iterator[None]:
    yield
    while STARTED:
        STARTED.pop().kill()
