"""End to end on the real broker and engine: every event stored once, dropped as a duplicate, or
dead-lettered with its reason; also across SIGKILLs of the worker."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from omnimeter.cli.simulate import Ledger
from omnimeter.cli.traffic import Traffic, build_world, directory_doc, records
from omnimeter.cli.workerproc import WorkerProcess, wait_caught_up
from omnimeter.settings import Settings
from omnimeter.streams.kafka_admin import group_lag
from omnimeter.streams.reference import publish
from tests.integration.accounting import assert_exact_account
from tests.integration.rating_check import REF, assert_same_totals, offline_totals, stream_totals, write_jsonl
from tests.kafka_io import produce_plain

pytestmark = pytest.mark.integration

EVENTS = 10_500


def _traffic(seed: int) -> Traffic:
    start = datetime.now(UTC) - timedelta(hours=2)
    return Traffic(build_world(seed, tenants=8), seed=seed, start=start, step=timedelta(milliseconds=300))


def _records(seed: int):  # type: ignore[no-untyped-def]
    return records(_traffic(seed), EVENTS, batch_size=25, batch_share=0.5, duplicate_rate=0.03, malformed_rate=0.01)


def test_every_event_stored_once_duplicates_counted_malformed_dead_lettered(settings: Settings) -> None:
    ledger = Ledger()
    produce_plain(settings.kafka.bootstrap, settings.topics.usage, _records(seed=11), ledger)
    assert sum(ledger.malformed.values()) >= 50 and ledger.duplicate_sends >= 250

    worker = WorkerProcess(settings).start()
    try:
        wait_caught_up(settings, timeout_s=180, worker=worker)
    finally:
        assert worker.stop() == 0, worker.log_tail()
    figures = assert_exact_account(settings, ledger)
    print(f"\n{EVENTS} events in {ledger.records} records: {figures}")


def test_exact_across_two_sigkills_mid_stream(settings: Settings, tmp_path: Path) -> None:
    """Events stored once, and billed once: billable_lines equal offline rating after the crashes."""
    settings = settings.replace(ingest__batch_max_events=400, ingest__flush_interval_s=0.2)
    directory = tmp_path / "directory.yaml"
    directory.write_text(yaml.safe_dump(directory_doc(build_world(7, 8)), sort_keys=False))
    for kind, path in (("directory", directory), ("prices", REF / "prices.yaml")):
        publish(settings.kafka.bootstrap, settings.topics.reference, kind, path.read_text(), str(path))
    recs = list(_records(seed=23))
    write_jsonl(recs, tmp_path / "events.jsonl")
    ledger = Ledger()
    producer = threading.Thread(
        target=produce_plain,
        args=(settings.kafka.bootstrap, settings.topics.usage, recs, ledger),
        kwargs={"rate": 1500.0},
    )
    producer.start()
    rnd = random.Random(5)
    worker = WorkerProcess(settings).start()
    kills = 0
    try:
        for _ in range(2):
            _wait_progress(settings, worker, at_least=rnd.randint(400, 1500) + kills * 1500)
            time.sleep(rnd.uniform(0.0, 0.4))
            worker.kill()
            kills += 1
            worker = WorkerProcess(settings).start()
        producer.join(120)
        assert not producer.is_alive()
        wait_caught_up(settings, timeout_s=180, worker=worker)
    finally:
        assert worker.stop() == 0, worker.log_tail()
    assert kills == 2
    figures = assert_exact_account(settings, ledger)
    stream = stream_totals(settings)
    assert_same_totals(stream, offline_totals(tmp_path / "events.jsonl", REF / "prices.yaml", directory))
    print(f"\n{kills} SIGKILLs; {figures}; {sum(n for *_, n in stream.values())} billable lines equal offline")


def _wait_progress(settings: Settings, worker: WorkerProcess, at_least: int, timeout_s: float = 90) -> None:
    """Wait until the group committed `at_least` records in all (the worker is mid-stream)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert worker.alive(), worker.log_tail()
        try:
            done = sum(
                max(p.committed, 0)
                for p in group_lag(settings.kafka.bootstrap, settings.kafka.consumer_group, settings.topics.usage)
            )
        except Exception:
            done = 0
        if done >= at_least:
            return
        time.sleep(0.1)
    raise TimeoutError(f"worker committed fewer than {at_least} records in {timeout_s} s")
