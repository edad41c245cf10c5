"""Run `omnimeter worker` as a child process (the demo and the tests do), and wait for it to catch up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import KafkaException

from omnimeter.settings import Settings
from omnimeter.streams.kafka_admin import group_lag


def settings_env(settings: Settings) -> dict[str, str]:
    """This process's environment with `settings` in ``OMNIMETER_*`` variables, for a child process."""
    return {**os.environ, **settings.to_env()}


class WorkerProcess:
    def __init__(self, settings: Settings, log_path: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.log_path = log_path or settings.data_dir / "worker.log"
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "omnimeter", "worker", "--loglevel", "info"],
            env={**settings_env(self.settings), **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no goodbye."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def wait_caught_up(
    settings: Settings, timeout_s: float = 120.0, worker: WorkerProcess | None = None, min_end: int = 0
) -> int:
    """Wait until the worker's group has committed every record of the usage topic (lag 0). Returns the
    total number of records in the topic. Raises TimeoutError with the lag left, or RuntimeError if the
    worker died."""
    deadline = time.monotonic() + timeout_s
    lags = []
    while time.monotonic() < deadline:
        if worker is not None and not worker.alive():
            code = worker.proc.returncode if worker.proc else None
            raise RuntimeError(f"worker exited with {code}:\n{worker.log_tail()}")
        try:
            lags = group_lag(settings.kafka, settings.kafka.consumer_group, settings.topics.usage)
        except KafkaException:  # coordinator moving or loading: ask again
            time.sleep(0.5)
            continue
        end = sum(p.end for p in lags)
        if lags and end >= min_end and all(p.lag == 0 for p in lags):
            return end
        time.sleep(0.5)
    left = [(p.partition, p.lag) for p in lags]
    tail = f"\nworker log:\n{worker.log_tail()}" if worker is not None else ""
    raise TimeoutError(f"worker did not catch up in {timeout_s:.0f} s: lag {left}{tail}")
