"""Recovery on the real broker and engine: SIGTERM stops a worker within 10 s while the store is down
(nothing acked, everything consumed again by the next worker), a permanent store error stops the worker
with what to do and a non-zero exit, a dead letter above the producer's request limit is truncated, and an
event whose rating raises is dead-lettered while its batch is stored."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Producer

from omnimeter.cli.simulate import Ledger
from omnimeter.cli.traffic import Traffic, build_world, directory_doc, records
from omnimeter.cli.workerproc import WorkerProcess, wait_caught_up
from omnimeter.reports.scope import PLATFORM
from omnimeter.reports.tokens import issue, load_secret
from omnimeter.settings import Settings
from omnimeter.sinks.clickhouse import connect
from omnimeter.sinks.shared import serve_store, store_key
from omnimeter.streams import deadletter as dlq
from omnimeter.streams.kafka_admin import group_lag
from tests.integration.accounting import assert_exact_account
from tests.integration.isolated import apply_reference
from tests.kafka_io import produce_plain, read_all

pytestmark = pytest.mark.integration
CT = [("content-type", b"application/cloudevents+json")]


def _records(n: int, seed: int) -> list:  # type: ignore[type-arg]
    t = Traffic(build_world(7, 8), seed=seed, start=datetime.now(UTC).replace(microsecond=0))
    return list(records(t, n, batch_size=10, batch_share=0.5, duplicate_rate=0.02))


def _committed(s: Settings) -> int:
    return sum(max(p.committed, 0) for p in group_lag(s.kafka.bootstrap, s.kafka.consumer_group, s.topics.usage))


def test_sigterm_stops_within_10_s_while_the_store_is_down_and_nothing_is_lost(settings: Settings) -> None:
    settings = settings.replace(ingest__flush_interval_s=0.2)
    ledger = Ledger()
    recs = _records(1500, seed=5)
    produce_plain(settings.kafka.bootstrap, settings.topics.usage, recs[:500], ledger)
    worker = WorkerProcess(settings, env={"OMNIMETER_FAULTS": "on"}).start()
    wait_caught_up(settings, timeout_s=120, worker=worker)
    port = settings.worker.web_port
    token = issue(load_secret(settings.data_dir, settings.api.secret), PLATFORM)  # control needs a platform token
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/faults/sink-down?seconds=600",
                                                  method="POST", headers={"Authorization": f"Bearer {token}"}),
                           timeout=10).read()  # fmt: skip
    before = _committed(settings)
    produce_plain(settings.kafka.bootstrap, settings.topics.usage, recs[500:], ledger)
    time.sleep(3)  # the flush retries; more records wait un-acked in the stage
    assert _committed(settings) == before
    started = time.monotonic()
    code = worker.stop(timeout_s=30)
    took = time.monotonic() - started
    assert code == 0, worker.log_tail()
    assert took < 10, f"SIGTERM took {took:.1f} s"
    assert _committed(settings) == before, "nothing is acked while the store refuses"
    again = WorkerProcess(settings).start()  # the store is back (the fault was the stopped worker's)
    try:
        wait_caught_up(settings, timeout_s=120, worker=again)
    finally:
        assert again.stop() == 0, again.log_tail()
    assert_exact_account(settings, ledger)


def test_a_permanent_store_error_stops_the_worker_with_what_to_do(settings: Settings, tmp_path: Path) -> None:
    # the store is served from this process (as `omnimeter store serve` does), so the test can drop a table
    # under the worker: the shared store refuses DDL from its clients
    held = connect(f"chdb://{tmp_path / 'held'}", settings.clickhouse.database)
    key = store_key(tmp_path / "held")
    server = serve_store(held.client, "127.0.0.1", 0, key, settings.clickhouse.database)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"omnimeter://omnimeter:{key}@127.0.0.1:{server.server_address[1]}"
        settings = settings.replace(ingest__flush_interval_s=0.2, clickhouse__url=url)
        ledger = Ledger()
        recs = _records(400, seed=6)
        produce_plain(settings.kafka.bootstrap, settings.topics.usage, recs[:200], ledger)
        worker = WorkerProcess(settings).start()
        wait_caught_up(settings, timeout_s=120, worker=worker)
        held.command(f"DROP TABLE {held.db}.raw_events")
        produce_plain(settings.kafka.bootstrap, settings.topics.usage, recs[200:], ledger)
        assert worker.proc is not None
        code = worker.proc.wait(30)
        log = worker.log_tail(20_000)
        assert code == 2, log
        last = [ln for ln in log.splitlines() if ln.startswith("omnimeter: ")]
        assert last and "raw_events" in last[-1] and "run the migrations" in last[-1], log
        assert "Traceback" not in log.split("omnimeter: worker stopped")[-1]
    finally:
        server.shutdown()
        held.close()


def test_a_dead_letter_above_the_request_limit_is_truncated_and_the_stream_goes_on(settings: Settings) -> None:
    big = b'{"specversion": "1.0", "id": "huge-1", "padding": "' + b"a" * 1_040_000 + b'"}'
    assert len(big) <= settings.ingest.max_record_bytes
    p = Producer({"bootstrap.servers": settings.kafka.bootstrap, "message.max.bytes": 2_000_000})
    p.produce(settings.topics.usage, big, b"tenant-001", headers=CT, partition=0)
    assert p.flush(30) == 0
    ledger = Ledger()
    produce_plain(settings.kafka.bootstrap, settings.topics.usage, _records(300, seed=8), ledger)
    worker = WorkerProcess(settings).start()
    try:
        wait_caught_up(settings, timeout_s=120, worker=worker)
    finally:
        assert worker.stop() == 0, worker.log_tail()
    letters = [lt for lt in read_all(settings.kafka.bootstrap, settings.topics.dlq) if lt.headers.get(dlq.H_TRUNCATED)]
    assert len(letters) == 1
    (letter,) = letters
    assert letter.headers[dlq.H_TRUNCATED] == str(len(big)).encode()
    assert letter.headers[dlq.H_OFFSET] == b"0" and letter.headers[dlq.H_PARTITION] == b"0"
    assert 900_000 < len(letter.value) < len(big) and big.startswith(letter.value)


def test_events_whose_rating_raises_are_dead_lettered_and_their_batches_stored(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.replace(faults="fail_rating=boom-")
    apply_reference(settings, directory_doc(build_world(7, 8)), tmp_path / "directory.yaml")
    ledger = Ledger()
    recs = _records(600, seed=9)
    produce_plain(settings.kafka.bootstrap, settings.topics.usage, recs, ledger)
    now = datetime.now(UTC).isoformat()
    bad = [json.dumps({"specversion": "1.0", "id": f"boom-{i}", "source": "telephony", "type": "video_call.completed",
                       "time": now, "subject": "tenant-001", "datacontenttype": "application/json",
                       "data": {"duration_s": 60}}).encode() for i in range(3)]  # fmt: skip
    p = Producer({"bootstrap.servers": settings.kafka.bootstrap})
    p.produce(settings.topics.usage, b"[" + b",".join(bad[:2]) + b"]", b"tenant-001",
              headers=[("content-type", b"application/cloudevents-batch+json")])  # fmt: skip
    p.produce(settings.topics.usage, bad[2], b"tenant-001", headers=CT)
    assert p.flush(30) == 0
    worker = WorkerProcess(settings).start()
    try:
        wait_caught_up(settings, timeout_s=120, worker=worker)
        time.sleep(1)
    finally:
        assert worker.stop() == 0, worker.log_tail()
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        rejected = store.query_rows(f"SELECT event_id, reason, detail FROM {store.db}.rejected_events "
                                    "WHERE event_id LIKE 'boom-%' ORDER BY event_id")  # fmt: skip
        stored = store.query_rows(f"SELECT count() FROM {store.db}.raw_events WHERE event_id LIKE 'boom-%'")[0][0]
        lines = store.query_rows(f"SELECT uniqExact(event_id) FROM {store.db}.billable_lines")[0][0]
    finally:
        store.close()
    assert [(e, r) for e, r, _ in rejected] == [(f"boom-{i}", "rating_failed") for i in range(3)]
    assert "rating event boom-0 raised RatingFault" in rejected[0][2]
    assert stored == 0 and lines > 500
    ledger.malformed["rating_failed"] += 3
    assert_exact_account(settings, ledger)
