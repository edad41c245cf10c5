"""`omnimeter demo`: the whole path on the embedded defaults, then a summary from ClickHouse.

Local Kafka up -> topics -> directory and price books (deploy/reference) -> worker (a child process that
owns the chdb store) -> generated traffic with 3% duplicates and 1% malformed records, half of it in batch
records -> wait until the worker committed everything -> stop the worker -> summary of what was stored,
dropped and dead-lettered, the estimated charges, and two of the administrators' reports (services this
month, the resellers' companies), with how to open the dashboard.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from omnimeter.cli.localkafka import REPO_ROOT, LocalKafka
from omnimeter.cli.simulate import produce
from omnimeter.cli.traffic import Traffic, build_world, records
from omnimeter.cli.workerproc import WorkerProcess, wait_caught_up
from omnimeter.reports.billing_summary import billing_summary
from omnimeter.reports.catalog import run_report
from omnimeter.reports.ingest_summary import ingest_summary
from omnimeter.reports.model import Request
from omnimeter.reports.render import Format, render, render_report
from omnimeter.settings import Settings
from omnimeter.sinks.clickhouse import connect
from omnimeter.streams.kafka_admin import ensure_topics, topic_specs
from omnimeter.streams.reference import publish

REFERENCE = REPO_ROOT / "deploy" / "reference"
DEMO_TENANTS = 6  # the world deploy/reference/directory.yaml describes


def run_demo(
    settings: Settings, seconds: float = 15.0, rate: float = 400.0, fmt: str = "table", keep_kafka: bool = False
) -> int:
    kafka = LocalKafka.from_bootstrap(settings.data_dir, settings.cache_dir, settings.kafka.bootstrap)
    say = lambda msg: print(f"[demo] {msg}", file=sys.stderr)  # noqa: E731
    say(f"starting Kafka {kafka.status()['version']} on {kafka.bootstrap} (data in {kafka.home})")
    kafka.up()
    ensure_topics(settings.kafka.bootstrap, topic_specs(settings.topics))
    for kind, path in (("directory", REFERENCE / "directory.yaml"), ("prices", REFERENCE / "prices.yaml")):
        version = publish(settings.kafka.bootstrap, settings.topics.reference, kind, path.read_text(), str(path))
        say(f"applied {kind} {path.name} (version {version})")
    worker = WorkerProcess(settings).start()
    say(f"worker started (pid {worker.proc.pid if worker.proc else '?'}, log {worker.log_path})")
    try:
        count = int(seconds * rate)
        step = timedelta(seconds=1 / rate)
        seed = int(datetime.now(UTC).timestamp())
        traffic = Traffic(build_world(seed, DEMO_TENANTS), seed=seed, start=datetime.now(UTC), step=step)
        recs = records(traffic, count, batch_size=20, batch_share=0.5, duplicate_rate=0.03, malformed_rate=0.01)
        say(f"producing {count} events over {seconds:.0f} s (3% resent, 1% malformed, half in batch records)")
        ledger = produce(recs, settings.kafka.bootstrap, settings.topics.usage, rate=rate * 0.6, total=None)
        say("waiting for the worker to store everything")
        wait_caught_up(settings, timeout_s=180, worker=worker)
    finally:
        worker.stop()
        if not keep_kafka:
            kafka.down()
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        print(render(ingest_summary(store) + billing_summary(store), Format(fmt)))
        this_month = Request(period="this-month", tz="UTC")
        for name, section in (("services", "by_service"), ("resellers", "companies")):
            doc = run_report(store, name, this_month).to_json()
            doc["sections"] = {section: doc["sections"][section]}
            print(render_report(doc, Format(fmt)))
    finally:
        store.close()
    say(
        f"this run sent {ledger.records} records: {len(ledger.valid)} distinct events, "
        f"{ledger.duplicate_sends} resends, {sum(ledger.malformed.values())} malformed"
    )
    say(
        "more: `omnimeter report users|usage|whatsapp|billing-units|allocation|cycle ...`; the dashboard: "
        "`omnimeter serve` then http://127.0.0.1:6067/ui with a token from `omnimeter token --scope platform`"
    )
    return 0
