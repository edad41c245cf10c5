"""`omnimeter prices apply` / `directory apply` refuse every hostile file with one line, no traceback, exit 2,
in under a second each (before connecting to any broker). The bound is on the command's CPU time (user +
system, interpreter start included), which other processes on the machine do not inflate; the wall time
is bounded too, loosely, so that a hang fails."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile_reference import HOSTILE_DIRECTORY, HOSTILE_PRICES

CASES = [("prices", *c) for c in HOSTILE_PRICES] + [("directory", *c) for c in HOSTILE_DIRECTORY]
CASES += [
    ("prices", "not UTF-8", "books: []\n\udcff", "not_utf8", "not UTF-8"),
    ("directory", "oversized, never read", "", "too_large", "bytes is more than the limit"),
    ("prices", "missing file", None, "invalid", "cannot read"),
]


@pytest.mark.parametrize(("kind", "name", "text", "reason", "says"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_apply_refuses_with_one_line(tmp_path: Path, kind: str, name: str, text: str | None, reason: str,
                                     says: str) -> None:  # fmt: skip
    path = tmp_path / "file.yaml"
    if name == "oversized, never read":
        with path.open("wb") as f:  # sparse: 64 MiB that are never read
            f.truncate(64 * 1024 * 1024)
    elif text is not None:
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    env = {**os.environ, "OMNIMETER_KAFKA_BOOTSTRAP": "127.0.0.1:1", "OMNIMETER_DATA_DIR": str(tmp_path)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "omnimeter", kind, "apply", str(path)], capture_output=True,
                         text=True, env=env, timeout=30)  # fmt: skip
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and str(path) in lines[0], out.stderr
    assert cpu < 1.0, f"{name}: {cpu:.2f} s of CPU"
    assert elapsed < 10.0, f"{name}: {elapsed:.2f} s"
