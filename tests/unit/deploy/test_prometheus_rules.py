"""Alert rules are valid and their unit tests pass (promtool, from Debian's prometheus package)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, "promtool is missing: `make tools` installs Debian's prometheus package"
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_rules_are_valid() -> None:
    proc = promtool("check", "rules", "deploy/prometheus/rules.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rule_unit_tests_pass() -> None:
    proc = promtool("test", "rules", "rules_test.yml", cwd=ROOT / "tests" / "prometheus")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_alerts_cover_what_ops_watch() -> None:
    text = (ROOT / "deploy" / "prometheus" / "rules.yml").read_text()
    for alert in (
        "OmnimeterLagGrowing",
        "OmnimeterEventTimeLagHigh",
        "OmnimeterSinkFailing",
        "OmnimeterDeadLetterSpike",
        "OmnimeterWorkerDown",
        "OmnimeterUnpricedUsage",
    ):
        assert f"alert: {alert}" in text
