"""A generated day of traffic through Kafka: billable_lines equal offline `omnimeter rate`, to the
cent, for both amounts; bad reference data is refused and the worker keeps the last good version."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from omnimeter.cli.offline_rate import rate_file
from omnimeter.cli.simulate import Ledger
from omnimeter.cli.traffic import Record, Traffic, build_world, directory_doc, records
from omnimeter.cli.workerproc import WorkerProcess, settings_env, wait_caught_up
from omnimeter.pricing.books import parse_price_books
from omnimeter.pricing.cycle_charges import cycle_charges
from omnimeter.schemas.directory import parse_directory
from omnimeter.settings import Settings
from omnimeter.sinks.clickhouse import connect
from tests.integration.rating_check import (
    REF,
    assert_same_totals,
    offline_totals,
    stream_lines,
    stream_totals,
    write_jsonl,
)
from tests.kafka_io import produce_plain

pytestmark = pytest.mark.integration
TENANTS = 8
HOUR = timedelta(hours=1)


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
        negative = store.query_rows(  # only reversals of corrected WhatsApp decisions carry negative amounts
            f"SELECT count() FROM {store.db}.billable_lines WHERE amount_platform < 0 "
            "AND NOT (corrects_line_id != '' AND quantity < 0)"
        )
    finally:
        store.close()
    assert {b for (b,) in books} <= {
        "platform-direct@2026.2",  # the versions in force today (2026-10-01 WhatsApp rules)
        "platform-wholesale@2026.2",
        "tenant-004-contract@2026.2",
    }
    assert negative == [(0,)]


def late_ad_messages(traffic: Traffic, n: int, start: datetime) -> list[tuple[Record, Record]]:
    """`n` conversations of a marketing template delivered at T and a click-to-WhatsApp message timed
    T - 1 h: the template is free whichever arrives first. Pairs of records (template, ad message)."""
    r = random.Random(11)
    out = []
    for i in range(n):
        pair = []
        tenant = r.choice(traffic.world.tenants)
        at = start + timedelta(hours=r.uniform(2, 60))
        chat = {"channel": "whatsapp", "account": tenant.accounts["whatsapp"][0], "contact": f"+57399000{i:04d}"}
        tpl = {**chat, "sender_kind": "campaign", "message_id": f"wamid.late{i}"}
        tpl["template"] = {"name": "promo", "category": "marketing"}
        ad = {**chat, "entry_point": "ctwa_ad"}
        for j, (typ, data, t) in enumerate([("message.delivered", tpl, at), ("message.received", ad, at - HOUR)]):
            env = {"specversion": "1.0", "id": f"late-{i}-{j}", "source": "whatsapp-gateway", "type": typ,
                   "time": t.isoformat(timespec="milliseconds"), "subject": tenant.id, "data": data}  # fmt: skip
            headers = [("content-type", b"application/cloudevents+json")]
            rec = Record(tenant.id.encode(), json.dumps(env).encode(), headers, [(tenant.id, env["source"], env["id"])])
            pair.append(rec)
        out.append((pair[0], pair[1]))
    return out


def test_shuffled_chunks_with_pauses_give_the_offline_cycle_charges(
    settings: Settings, directory_file, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The same events produced in shuffled chunks, with pauses longer than the flush interval (so tiers
    and seats are read back from the store between flushes), give exactly the cycle charges of offline
    rating in the original order, for both parties. WhatsApp messages included: a customer or
    free-entry-point message that arrives after the templates it frees corrects them (a reversal and a
    corrected line), so the stream's charges equal offline rating in file order."""
    settings = settings.replace(ingest__flush_interval_s=0.2)
    assert apply(settings, "directory", directory_file).returncode == 0
    assert apply(settings, "prices", REF / "prices.yaml").returncode == 0
    start = datetime.now(UTC) - timedelta(days=3)
    traffic = Traffic(build_world(7, TENANTS), seed=41, start=start, step=timedelta(days=3) / 3000)
    recs = list(records(traffic, 2500))  # 2.6 days of traffic: inside the WhatsApp window horizon (72 h)
    place = random.Random(17)
    for tpl, ad in late_ad_messages(traffic, 40, start):  # at random, each ad message after its template
        i = place.randint(0, len(recs))
        recs.insert(i, tpl)
        recs.insert(place.randint(i + 1, len(recs)), ad)
    write_jsonl(recs, tmp_path / "events.jsonl")
    rnd = random.Random(5)
    chunks = [recs[i : i + 150] for i in range(0, len(recs), 150)]
    rnd.shuffle(chunks)
    worker = WorkerProcess(settings).start()
    try:
        for i, chunk in enumerate(chunks):
            produce_plain(settings.kafka.bootstrap, settings.topics.usage, rnd.sample(chunk, len(chunk)), Ledger())
            if i == 0:  # the worker is up and consuming: the next chunks arrive after earlier ones are rated
                wait_caught_up(settings, timeout_s=120, worker=worker)
            time.sleep(0.5)
        wait_caught_up(settings, timeout_s=240, worker=worker)
    finally:
        assert worker.stop() == 0, worker.log_tail()
    books = parse_price_books((REF / "prices.yaml").read_text())
    direc = parse_directory(directory_file.read_text())
    offline = rate_file(tmp_path / "events.jsonl", books, direc, err=io.StringIO())
    want = {(c.tenant_id, c.cycle_start, c.meter): c for c in cycle_charges(offline, books)}
    got = {(c.tenant_id, c.cycle_start, c.meter): c for c in cycle_charges(stream_lines(settings), books)}
    assert got.keys() == want.keys()
    tiered = 0
    for key, c in want.items():
        g = got[key]
        assert (g.quantity, g.platform.charge) == (c.quantity, c.platform.charge), key
        assert (g.reseller.charge if g.reseller else None) == (c.reseller.charge if c.reseller else None), key
        tiered += key[2].startswith(("seats.", "bot.", "email."))
    assert tiered >= 10  # graduated seats, volume bot messages and email packages are among them
    whatsapp = [k for k, c in want.items() if k[2].startswith("whatsapp.template.") and c.platform.charge > 0]
    assert len(whatsapp) >= 5
    corrected = [ln for ln in stream_lines(settings) if ln.corrects_line_id]
    assert corrected, "shuffled chunks make late WhatsApp messages: the stream corrects decisions"
    assert {ln.free_reason for ln in corrected if ln.quantity > 0} & {"free_entry_point"}
    print(f"\n{len(corrected) // 2} WhatsApp decisions corrected in the stream; cycle charges equal offline rating")
