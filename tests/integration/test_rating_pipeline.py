"""A generated day of traffic through Kafka: billable_lines equal offline `omnimeter rate`, to the
cent, for both amounts; bad reference data is refused and the worker keeps the last good version."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from omnimeter.cli.simulate import Ledger
from omnimeter.cli.traffic import Traffic, build_world, directory_doc, records
from omnimeter.cli.workerproc import WorkerProcess, settings_env, wait_caught_up
from omnimeter.settings import Settings
from omnimeter.sinks.clickhouse import connect
from tests.integration.rating_check import REF, assert_same_totals, offline_totals, stream_totals, write_jsonl
from tests.kafka_io import produce_plain

pytestmark = pytest.mark.integration
TENANTS = 8


def apply(settings: Settings, kind: str, path) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "omnimeter", kind, "apply", str(path)],
        capture_output=True,
        text=True,
        env=settings_env(settings),
        timeout=60,
    )


@pytest.fixture
def directory_file(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(directory_doc(build_world(7, TENANTS)), sort_keys=False))
    return path


def day_of_traffic(n: int, seed: int) -> list:  # type: ignore[type-arg]
    start = datetime.now(UTC) - timedelta(days=1)
    traffic = Traffic(build_world(seed, TENANTS), seed=seed, start=start, step=timedelta(days=1) / (n * 1.05))
    return list(records(traffic, n, batch_size=20, batch_share=0.5, duplicate_rate=0.03, malformed_rate=0.01))


def test_day_of_traffic_rated_in_the_stream_equals_offline_rate(settings: Settings, directory_file, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert apply(settings, "directory", directory_file).returncode == 0
    assert apply(settings, "prices", REF / "prices.yaml").returncode == 0
    recs = day_of_traffic(12_000, seed=31)
    write_jsonl(recs, tmp_path / "events.jsonl")
    ledger = Ledger()
    produce_plain(settings.kafka.bootstrap, settings.topics.usage, recs, ledger)
    worker = WorkerProcess(settings).start()
    try:
        wait_caught_up(settings, timeout_s=240, worker=worker)
    finally:
        assert worker.stop() == 0, worker.log_tail()
    stream = stream_totals(settings)
    offline = offline_totals(tmp_path / "events.jsonl", REF / "prices.yaml", directory_file)
    assert_same_totals(stream, offline)
    assert sum(n for *_, n in stream.values()) > 15_000
    metered = {m for _, m in stream}
    assert {
        "sms.outbound.segments",
        "whatsapp.template.marketing",
        "voice.outbound.seconds",
        "seats.active.agent",
        "bot.billable_messages",
    } <= metered
    resold = [v for (t, _), v in stream.items() if v[2] > 0]
    assert resold, "reseller tenants carry a price to reseller"
    print(
        f"\n{len(stream)} tenant/meter totals equal offline rating; "
        f"{sum(v[1] for v in stream.values())} USD to platform, {sum(v[2] for v in stream.values())} to resellers"
    )


def test_bad_price_book_is_refused_and_worker_keeps_the_last_good_one(settings: Settings, directory_file) -> None:  # type: ignore[no-untyped-def]
    assert apply(settings, "directory", directory_file).returncode == 0
    assert apply(settings, "prices", REF / "prices.yaml").returncode == 0
    bad = (
        (REF / "prices.yaml")
        .read_text()
        .replace('unit: "0.0079"', 'unit: "-1"')
        .replace("audience: wholesale", "audience: wholesail")
    )
    bad_file = directory_file.parent / "bad-prices.yaml"
    bad_file.write_text(bad)
    proc = apply(settings, "prices", bad_file)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "books.0.prices.sms.outbound.segments.unit" in proc.stderr and "books.1.audience" in proc.stderr

    worker = WorkerProcess(settings).start()
    try:
        # something that skips the CLI's checks publishes the bad book straight onto the topic
        from confluent_kafka import Producer

        p = Producer({"bootstrap.servers": settings.kafka.bootstrap})
        p.produce(settings.topics.reference, bad.encode(), b"prices")
        p.flush(10)
        time.sleep(2)
        recs = day_of_traffic(500, seed=5)
        ledger = Ledger()
        produce_plain(settings.kafka.bootstrap, settings.topics.usage, recs, ledger)
        wait_caught_up(settings, timeout_s=120, worker=worker)
    finally:
        assert worker.stop() == 0, worker.log_tail()
    assert "refused prices version" in worker.log_tail(200_000)
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        books = store.query_rows(
            f"SELECT DISTINCT book_platform FROM {store.db}.billable_lines WHERE book_platform != ''"
        )
        negative = store.query_rows(f"SELECT count() FROM {store.db}.billable_lines WHERE amount_platform < 0")
    finally:
        store.close()
    assert {b for (b,) in books} <= {
        "platform-direct@2026.1",
        "platform-wholesale@2026.1",
        "tenant-004-contract@2026.1",
    }
    assert negative == [(0,)]
