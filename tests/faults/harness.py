"""One fault scenario: its own topics, group and store; generated traffic with a ledger of what was sent;
workers started and killed; then the exact reconciliation, per event id, of input vs raw_events vs
billable_lines vs rollups, and `omnimeter reconcile` on the result."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from omnimeter.cli.reconcile import reconcile
from omnimeter.cli.simulate import Ledger
from omnimeter.cli.traffic import Record, Traffic, build_world, directory_doc, records
from omnimeter.cli.workerproc import WorkerProcess, settings_env, wait_caught_up
from omnimeter.settings import Settings
from omnimeter.sinks.clickhouse import connect
from omnimeter.streams.kafka_admin import group_lag
from omnimeter.streams.reference import publish
from tests.integration.accounting import assert_exact_account
from tests.integration.isolated import isolated_settings
from tests.integration.rating_check import REF, assert_same_totals, offline_totals, stream_totals
from tests.kafka_io import produce_plain

TENANTS = 8
FIGURES: list[dict[str, Any]] = []  # printed at the end of the session (tests/conftest.py)
STARTED: list[WorkerProcess] = []  # killed after each test, passed or not (tests/faults/conftest.py)


@dataclass
class Scenario:
    name: str
    settings: Settings
    tmp: Path
    ledger: Ledger = field(default_factory=Ledger)
    faults: Counter[str] = field(default_factory=Counter)
    sent: list[Record] = field(default_factory=list)
    workers: list[WorkerProcess] = field(default_factory=list)
    prices: Path = REF / "prices.yaml"

    @classmethod
    def create(cls, name: str, bootstrap: str, tmp: Path, prices: Path | None = None, **overrides: Any) -> Scenario:
        settings = isolated_settings(bootstrap, tmp, "faults", **overrides)
        run = cls(name, settings, tmp, prices=prices or REF / "prices.yaml")
        run.directory.write_text(yaml.safe_dump(directory_doc(build_world(7, TENANTS)), sort_keys=False))
        run.apply("directory", run.directory)
        run.apply("prices", run.prices)
        return run

    @property
    def directory(self) -> Path:
        return self.tmp / "directory.yaml"

    @property
    def events_file(self) -> Path:
        return self.tmp / "events.jsonl"

    def apply(self, kind: str, path: Path) -> None:
        publish(self.settings.kafka.bootstrap, self.settings.topics.reference, kind, path.read_text(), str(path))

    def traffic(self, n: int, seed: int, start: datetime | None = None, span: timedelta = timedelta(hours=2),
                **kw: Any) -> list[Record]:  # fmt: skip
        start = start or datetime.now(UTC) - span
        t = Traffic(build_world(7, TENANTS), seed=seed, start=start, step=span / (n * 1.05))
        return list(records(t, n, **kw))

    def produce(self, recs: Sequence[Record], rate: float = 0.0) -> None:
        self.sent += recs
        produce_plain(self.settings.kafka.bootstrap, self.settings.topics.usage, recs, self.ledger, rate)

    def produce_in_background(self, recs: Sequence[Record], rate: float) -> threading.Thread:
        thread = threading.Thread(target=self.produce, args=(recs, rate), daemon=True)
        thread.start()
        return thread

    def worker(self, env: dict[str, str] | None = None, **overrides: Any) -> WorkerProcess:
        settings = self.settings.replace(**overrides) if overrides else self.settings
        # alert rounds off: this suite counts events on a 2-core machine; alerts across a SIGKILL and a replay
        # have their own stream test (tests/integration/test_alerts.py)
        env = {"OMNIMETER_ALERT_INTERVAL_S": "0", **(env or {})}
        w = WorkerProcess(settings, self.tmp / f"worker-{len(self.workers)}.log", env).start()
        self.workers.append(w)
        STARTED.append(w)
        return w

    def committed(self) -> int:
        s = self.settings
        try:
            lag = group_lag(s.kafka.bootstrap, s.kafka.consumer_group, s.topics.usage)
            return sum(max(p.committed, 0) for p in lag)
        except Exception:
            return 0

    def wait_committed(self, worker: WorkerProcess, at_least: int, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert worker.alive(), worker.log_tail()
            if self.committed() >= at_least:
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name}: fewer than {at_least} records committed in {timeout_s} s")

    def finish(self, worker: WorkerProcess, timeout_s: float = 240) -> None:
        wait_caught_up(self.settings, timeout_s=timeout_s, worker=worker)
        time.sleep(2.5)  # the rollup refresh follows the last flush
        assert worker.stop() == 0, worker.log_tail()

    def write_events(self, recs: Iterable[Record] | None = None) -> Path:
        with self.events_file.open("wb") as f:
            for rec in self.sent if recs is None else recs:
                if "key_mismatch" in rec.malformed:  # judged by its Kafka key, which a file does not carry
                    continue
                f.write(rec.value.replace(b"\n", b" ") + b"\n")
        return self.events_file

    def verify(self, rating: bool = True, unchecked_meters: tuple[str, ...] = ()) -> dict[str, Any]:
        """Exact account per event id, lines equal offline rating (except meters starting with
        `unchecked_meters`), rollups equal lines, reconcile clean."""
        figures = assert_exact_account(self.settings, self.ledger)
        if rating:
            stream = stream_totals(self.settings)
            offline = offline_totals(self.write_events(), self.prices, self.directory)
            if unchecked_meters:
                stream = {k: v for k, v in stream.items() if not k[1].startswith(unchecked_meters)}
                offline = {k: v for k, v in offline.items() if not k[1].startswith(unchecked_meters)}
            assert_same_totals(stream, offline)
        assert self.reconcile_cli().returncode == 0
        row = {
            "scenario": self.name,
            "events sent": len(self.ledger.valid) + self.ledger.duplicate_sends + sum(self.ledger.malformed.values()),
            "faults": ", ".join(f"{k} x{v}" for k, v in sorted(self.faults.items())) or "-",
            "lost": figures["lost"],
            "double-counted": figures["double_counted"],
            "stored": figures["stored"],
            "duplicates": figures["duplicates"],
            "dead-lettered": ", ".join(f"{k} {v}" for k, v in sorted(self.ledger.malformed.items())) or "-",
        }
        FIGURES.append(row)
        return row

    def reconcile_rows(self) -> list[Any]:
        store = connect(self.settings.resolved_clickhouse_url, self.settings.clickhouse.database)
        try:
            tenants = [f"tenant-{i:03d}" for i in range(1, TENANTS + 1)]
            s = self.settings
            return reconcile(store, tenants, kafka=(s.kafka.bootstrap, s.kafka.consumer_group, s.topics.usage))
        finally:
            store.close()

    def reconcile_cli(self) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([sys.executable, "-m", "omnimeter", "reconcile"], capture_output=True, text=True,
                             env=settings_env(self.settings), timeout=120)  # fmt: skip
        assert "Traceback" not in out.stderr, out.stderr
        return out
