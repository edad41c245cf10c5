"""The pipeline benchmark: one command, one machine, one run; prints ratios, writes JSON under bench/results/.

    .venv/bin/python -m bench.run [--records 200000] [--batch-records 2000] [--freshness-seconds 20]

Measures, on a local Kafka broker it starts itself and fresh chdb stores:
  C_raw   raw aiokafka consumption of the single-record topic (the limit)
  F0      a naive Faust agent that only counts records (the baseline)
  stages  validation, rating, ClickHouse insert of prebuilt batches, each alone
  full    the worker (ingest, dedupe, rate, ClickHouse, ack after insert) on single-event records and on
          batch records of 100 events
  fresh   p50/p99 from event time (= produce time) to visible in the report tables (rollups refreshed),
          and to stored, at 50% and 90% of the full pipeline's rate
  rss     peak resident memory of the worker
Figures are compared as ratios measured in the same run (these machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from omnimeter.cli.localkafka import REPO_ROOT, LocalKafka
from omnimeter.cli.simulate import produce
from omnimeter.cli.traffic import Traffic, build_world, records
from omnimeter.cli.workerproc import WorkerProcess
from omnimeter.settings import KafkaSettings, Settings, Topics, WorkerSettings
from omnimeter.streams.kafka_admin import TopicSpec, ensure_topics, group_lag, topic_specs
from omnimeter.streams.reference import publish

RESULTS = Path(__file__).parent / "results"
REF = REPO_ROOT / "deploy" / "reference"


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def traffic(seed: int, start: datetime, step: timedelta) -> Traffic:
    return Traffic(build_world(seed, 6), seed=seed, start=start, step=step)


async def _raw_consume(bootstrap: str, topic: str, expected: int) -> dict[str, float]:
    from aiokafka import AIOKafkaConsumer

    c = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{time.time_ns()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    await c.start()
    n, t0 = 0, 0.0
    try:
        while n < expected:
            batch = await c.getmany(timeout_ms=1000, max_records=10_000)
            if batch and not t0:
                t0 = time.perf_counter()
            n += sum(len(v) for v in batch.values())
        elapsed = time.perf_counter() - t0
    finally:
        await c.stop()
    return {"records": n, "seconds": elapsed, "rate": n / elapsed}


def faust_count(bootstrap: str, topic: str, expected: int, tmp: Path) -> dict[str, float]:
    out = tmp / "f0.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.faust_count",
            bootstrap,
            topic,
            str(expected),
            f"bench-f0-{time.time_ns()}",
            str(tmp / "faust-f0"),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
    )
    if not out.exists():
        raise RuntimeError(f"F0 failed: {proc.stderr[-2000:]}")
    return json.loads(out.read_text())


def stage_rates(n_events: int) -> dict[str, float]:
    from omnimeter.pricing.books import parse_price_books
    from omnimeter.pricing.rating import rate_all
    from omnimeter.schemas.directory import parse_directory
    from omnimeter.schemas.parse import parse_record
    from omnimeter.sinks.clickhouse import connect
    from omnimeter.sinks.tables import RAW_EVENTS
    from omnimeter.streams.records import ConsumedRecord
    from omnimeter.streams.rows import raw_row

    now = datetime.now(UTC)
    tr = traffic(11, now - timedelta(hours=1), timedelta(milliseconds=10))
    envs = [tr.event() for _ in range(n_events)]
    singles = [json.dumps(e).encode() for e in envs]
    batches = [json.dumps(envs[i : i + 100]).encode() for i in range(0, len(envs), 100)]
    out: dict[str, float] = {}
    t = time.perf_counter()
    events = [o.event for v in singles for o in parse_record(v, now)]
    out["validate_single_events_per_s"] = len(singles) / (time.perf_counter() - t)
    t = time.perf_counter()
    n = sum(len(parse_record(v, now)) for v in batches)
    out["validate_batch_events_per_s"] = n / (time.perf_counter() - t)
    books = parse_price_books((REF / "prices.yaml").read_text())
    directory = parse_directory((REF / "directory.yaml").read_text())
    t = time.perf_counter()
    lines = rate_all(events, books, directory)
    out["rate_events_per_s"] = len(events) / (time.perf_counter() - t)
    out["lines_per_event"] = len(lines) / len(events)
    with tempfile.TemporaryDirectory() as d:
        store = connect(f"chdb://{d}/ch", "bench")
        rec = ConsumedRecord("t", 0, 0, None)
        rows = [raw_row(e, rec, i, now) for i, e in enumerate(events)]
        t = time.perf_counter()
        for i in range(0, len(rows), 20_000):
            store.write([RAW_EVENTS.block(rows[i : i + 20_000], f"b{i}")])
        out["insert_rows_per_s"] = len(rows) / (time.perf_counter() - t)
        store.close()
    return out


def _committed(settings: Settings) -> tuple[int, int]:
    try:
        lags = group_lag(settings.kafka.bootstrap, settings.kafka.consumer_group, settings.topics.usage)
    except Exception:
        return 0, 1
    return sum(max(p.committed, 0) for p in lags), sum(p.lag for p in lags)


def _rss_peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


_ACCOUNTED = ("omnimeter_events_stored_total", "omnimeter_events_duplicate_total", "omnimeter_events_rejected_total")


def _metrics_text(settings: Settings) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.worker.web_port}/metrics", timeout=5) as r:
        return str(r.read().decode())


def _accounted(settings: Settings) -> float:
    """Events the worker has accounted for (stored, dropped as duplicates, dead-lettered): each flush adds
    its events after the insert, just before the ack."""
    try:
        text = _metrics_text(settings)
    except OSError:
        return 0.0
    return sum(
        smp.value for fam in text_string_to_metric_families(text) for smp in fam.samples if smp.name in _ACCOUNTED
    )


def pipeline(settings: Settings, events_per_record: int, timeout_s: float = 600) -> dict[str, float]:
    """Run the worker over a topic already full, until the group's lag is 0. The rate is taken from the
    worker's accounted-events counter, from its first flush to its last (start-up excluded): flushes come
    every second, while offset commits can come 10 s apart under load (Faust flushes the producer first),
    which made a rate from commits vary by a quarter between runs."""
    worker = WorkerProcess(settings).start()
    assert worker.proc is not None
    first: tuple[float, float] | None = None  # (time, events) at the first flush seen
    last: tuple[float, float] = (0.0, 0.0)  # (time, events) when the count last grew
    peak = 0
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            now, events = time.perf_counter(), _accounted(settings)
            peak = max(peak, _rss_peak_kib(worker.proc.pid))
            if events > last[1]:
                last = (now, events)
                first = first or (now, events)
            quiet = now - last[0] > 2.0  # no flush for 2 s: maybe done
            if first is not None and quiet and last[0] > first[0] and _committed(settings)[1] == 0:
                elapsed, counted = last[0] - first[0], last[1] - first[1]
                return {
                    "records_per_s": counted / events_per_record / elapsed,
                    "events_per_s": counted / elapsed,
                    "seconds": elapsed,
                    "peak_rss_mib": peak / 1024,
                }
            if not worker.alive():
                raise RuntimeError(worker.log_tail())
            time.sleep(0.5)  # each scrape costs the worker a little CPU: not too often
        raise TimeoutError("pipeline did not catch up")
    finally:
        worker.stop()


def _quantile(buckets: list[tuple[float, float]], q: float) -> float:
    total = buckets[-1][1]
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * ((rank - prev_c) / max(c - prev_c, 1e-9))
        prev_le, prev_c = le, c
    return prev_le


def _rows(fresh: dict[str, Any]) -> float:
    return float(fresh["rows_per_insert"].get("billable_lines", 0.0))


def _mean(fresh: dict[str, Any], what: str = "rollup") -> float:
    return float(fresh["mean_s"][what])


def freshness(settings: Settings, rate: float, seconds: float, batch: int) -> dict[str, Any]:
    """Produce at `rate` events/s with event time = now; p50/p99 of stored - event time from the worker."""
    worker = WorkerProcess(settings).start()
    try:
        time.sleep(8)  # start-up
        n = int(rate * seconds)
        tr = traffic(int(time.time()), datetime.now(UTC), timedelta(seconds=1 / rate))
        produce(
            records(tr, n, batch_size=batch),
            settings.kafka.bootstrap,
            settings.topics.usage,
            rate=rate / batch,
            show_progress=False,
        )
        deadline = time.monotonic() + 120
        while _committed(settings)[1] and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1.5)
        text = _metrics_text(settings)
        hists: dict[str, list[tuple[float, float]]] = {}
        rows: dict[str, float] = {}
        inserts: dict[str, float] = {}
        sums: dict[str, float] = {}  # total seconds and counts of the flush, refresh and insert histograms
        for fam in text_string_to_metric_families(text):
            for smp in fam.samples:
                if smp.name == "omnimeter_sink_rows_total":
                    rows[smp.labels["table"]] = smp.value
                elif smp.name == "omnimeter_sink_insert_duration_seconds_count":
                    inserts[smp.labels["table"]] = smp.value
                if smp.name.endswith(("_seconds_sum", "_seconds_count")) and "le" not in smp.labels:
                    sums[smp.name] = sums.get(smp.name, 0.0) + smp.value
            if fam.name in ("omnimeter_event_lag_seconds", "omnimeter_report_visible_lag_seconds"):
                hists[fam.name] = sorted(
                    (float(s.labels["le"]), s.value) for s in fam.samples if s.name.endswith("_bucket")
                )
        stored, visible = hists["omnimeter_event_lag_seconds"], hists["omnimeter_report_visible_lag_seconds"]
        return {
            "target_events_per_s": rate,
            "events": n,
            "p50_s": _quantile(visible, 0.5),  # produce (= event time) to visible in the report tables
            "p99_s": _quantile(visible, 0.99),
            "stored_p50_s": _quantile(stored, 0.5),  # produce to stored in raw_events/billable_lines
            "stored_p99_s": _quantile(stored, 0.99),
            "rows_per_insert": {t: rows[t] / inserts[t] for t in ("raw_events", "billable_lines") if inserts.get(t)},
            "inserts_per_s": {t: inserts[t] / seconds for t in ("raw_events", "billable_lines") if t in inserts},
            "mean_s": {  # where a flush's time goes
                what: sums.get(f"{name}_sum", 0.0) / max(sums.get(f"{name}_count", 0.0), 1.0)
                for what, name in (
                    ("flush", "omnimeter_flush_duration_seconds"),
                    ("insert (per table)", "omnimeter_sink_insert_duration_seconds"),
                    ("rollup", "omnimeter_rollup_refresh_duration_seconds"),
                )
            },
        }
    finally:
        worker.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000, help="single-event records")
    ap.add_argument("--batch-records", type=int, default=2_000, help="records of 100 events")
    ap.add_argument("--stage-events", type=int, default=50_000)
    ap.add_argument("--freshness-seconds", type=float, default=20.0)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="omnimeter-bench-"))
    port = free_port()
    broker = LocalKafka(
        tmp,
        Path(os.environ.get("OMNIMETER_CACHE_DIR", Path.home() / ".cache" / "omnimeter")),
        port=port,
        controller_port=free_port(),
        heap="1g",
    )
    say(f"starting Kafka on {broker.bootstrap} (data in {tmp})")
    bootstrap = broker.up()
    result: dict[str, object] = {"when": datetime.now(UTC).isoformat(), "cpus": os.cpu_count()}
    try:

        def settings_for(name: str, partitions: int = 6) -> Settings:
            s = Settings(
                data_dir=tmp / name,
                kafka=KafkaSettings(bootstrap=bootstrap, consumer_group=f"bench-{name}"),
                worker=WorkerSettings(web_port=free_port(), id=name),
                topics=Topics(
                    usage=f"bench-{name}",
                    dlq=f"bench-{name}-dlq",
                    reference="bench-reference",
                    usage_partitions=partitions,
                ),
            )
            ensure_topics(bootstrap, topic_specs(s.topics))
            return s

        ensure_topics(bootstrap, [TopicSpec("bench-reference", 1, {"cleanup.policy": "compact"})])
        for kind, path in (("directory", REF / "directory.yaml"), ("prices", REF / "prices.yaml")):
            publish(bootstrap, "bench-reference", kind, path.read_text(), str(path))

        single, batch = settings_for("single"), settings_for("batch")
        start = datetime.now(UTC) - timedelta(hours=2)
        say(f"producing {args.records} single-event records and {args.batch_records} records of 100 events")
        produce(
            records(traffic(1, start, timedelta(milliseconds=20)), args.records),
            bootstrap,
            single.topics.usage,
            show_progress=False,
        )
        produce(
            records(traffic(2, start, timedelta(milliseconds=20)), args.batch_records * 100, batch_size=100),
            bootstrap,
            batch.topics.usage,
            show_progress=False,
        )

        say("C_raw: raw aiokafka consumption")
        c_raw = asyncio.run(_raw_consume(bootstrap, single.topics.usage, args.records))
        say(f"  {c_raw['rate']:,.0f} records/s")
        say("F0: a Faust agent that counts records")
        f0 = faust_count(bootstrap, single.topics.usage, args.records, tmp)
        say(f"  {f0['rate']:,.0f} records/s")
        say("stages alone")
        stages = stage_rates(args.stage_events)
        say(f"  {json.dumps({k: round(v) for k, v in stages.items()})}")
        say("full pipeline, single-event records")
        full_single = pipeline(single, 1)
        say(f"  {full_single['records_per_s']:,.0f} records/s")
        say("full pipeline, batch records of 100 events")
        full_batch = pipeline(batch, 100)
        say(f"  {full_batch['events_per_s']:,.0f} events/s")
        fresh = {}
        for share in (0.5, 0.9):
            rate = share * full_batch["events_per_s"]
            s = settings_for(f"fresh{int(share * 100)}")
            say(f"freshness at {share:.0%} of the batch pipeline's rate ({rate:,.0f} events/s)")
            key = f"{int(share * 100)}pct"
            fresh[key] = freshness(s, rate, args.freshness_seconds, batch=100)
            say(f"  p50 {fresh[key]['p50_s']:.2f} s, p99 {fresh[key]['p99_s']:.2f} s")
        result.update(
            {
                "c_raw": c_raw,
                "f0": f0,
                "stages": stages,
                "full_single": full_single,
                "full_batch": full_batch,
                "freshness": fresh,
                "ratios": {
                    "full_single_over_f0": full_single["records_per_s"] / f0["rate"],
                    "full_batch_events_over_c_raw": full_batch["events_per_s"] / c_raw["rate"],
                    "f0_over_c_raw": f0["rate"] / c_raw["rate"],
                },
            }
        )
    finally:
        broker.down()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    r = result["ratios"]  # type: ignore[index]
    print(f"""
{"figure":<48}{"value":>16}
{"C_raw (records/s)":<48}{c_raw["rate"]:>16,.0f}
{"F0 Faust counting agent (records/s)":<48}{f0["rate"]:>16,.0f}
{"validation, single records (events/s)":<48}{stages["validate_single_events_per_s"]:>16,.0f}
{"validation, batch records (events/s)":<48}{stages["validate_batch_events_per_s"]:>16,.0f}
{"rating (events/s)":<48}{stages["rate_events_per_s"]:>16,.0f}
{"ClickHouse insert, 20k-row batches (rows/s)":<48}{stages["insert_rows_per_s"]:>16,.0f}
{"full pipeline, single records (records/s)":<48}{full_single["records_per_s"]:>16,.0f}
{"full pipeline, batch records (events/s)":<48}{full_batch["events_per_s"]:>16,.0f}
{"freshness p50 / p99 at 50% (s)":<48}{fresh["50pct"]["p50_s"]:>8.2f}{fresh["50pct"]["p99_s"]:>8.2f}
{"freshness p50 / p99 at 90% (s)":<48}{fresh["90pct"]["p50_s"]:>8.2f}{fresh["90pct"]["p99_s"]:>8.2f}
{"stored p50 / p99 at 50% (s)":<48}{fresh["50pct"]["stored_p50_s"]:>8.2f}{fresh["50pct"]["stored_p99_s"]:>8.2f}
{"rows per insert (lines) at 50% / 90%":<48}{_rows(fresh["50pct"]):>8,.0f}{_rows(fresh["90pct"]):>8,.0f}
{"mean flush / rollup refresh at 50% (s)":<48}{_mean(fresh["50pct"], "flush"):>8.2f}{_mean(fresh["50pct"]):>8.2f}
{"peak worker RSS (MiB)":<48}{max(full_single["peak_rss_mib"], full_batch["peak_rss_mib"]):>16,.0f}
{"ratio full single / F0 (target >= 1.0)":<48}{r["full_single_over_f0"]:>16.2f}
{"ratio full batch events / C_raw (target >= 0.10)":<48}{r["full_batch_events_over_c_raw"]:>16.3f}
results: {out}""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
