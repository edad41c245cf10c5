"""The wheel installs one import root, `omnimeter`, and carries every module and data file of the tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("streams", "schemas", "sinks", "pricing", "reports")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (path,) = out.glob("omnimeter-*.whl")
    return zipfile.ZipFile(path)


def test_only_top_level_package_is_omnimeter(wheel: zipfile.ZipFile) -> None:
    tops = {n.split("/", 1)[0] for n in wheel.namelist() if not n.split("/", 1)[0].endswith((".dist-info", ".data"))}
    assert tops == {"omnimeter"}


def test_every_module_of_the_tree_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    for path in tracked.stdout.split():
        folder = path.split("/", 1)[0]
        if folder in FOLDERS:
            assert f"omnimeter/{path}" in names, path
        elif folder == "omnimeter":
            assert path in names, path
    for data in ("omnimeter/sinks/migrations/0001_raw_events.sql", "omnimeter/schemas/json/usage-event.v1.json",
                 "omnimeter/reports/web/static/app.css", "omnimeter/reports/web/templates/base.html",
                 "omnimeter/reports/web/templates/macros.html"):  # fmt: skip
        assert data in names, data
