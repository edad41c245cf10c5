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
  history the batch records on a store with --history-rows rows (20M) already in raw_events, vs empty
  scale   the batch records through one worker, then --scale-workers workers, on a shared store
  where   for both full runs, microseconds per event per stage (the worker's stage counters, streams/timing.py),
          the event loop's CPU left to Faust, and a py-spy --gil profile saved under bench/results/
Each full run must account for every produced event exactly once (the worker's counters and its store).
Figures are compared as ratios measured in the same run (these machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from omnimeter.cli.localkafka import REPO_ROOT, LocalKafka
from omnimeter.cli.simulate import produce
from omnimeter.cli.traffic import Traffic, build_world, records
from omnimeter.cli.workerproc import WorkerProcess
from omnimeter.settings import ClickHouseSettings, KafkaSettings, Settings, Topics, WorkerSettings
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
    by_tenant: dict[str, list[dict[str, Any]]] = {}  # a batch record holds one tenant's events (DESIGN.md 2)
    for e in envs:
        by_tenant.setdefault(e["subject"], []).append(e)
    batches = [json.dumps(g[i : i + 100]).encode() for g in by_tenant.values() for i in range(0, len(g), 100)]
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
    return sum(_outcomes(settings).values())


def _outcomes(settings: Settings) -> dict[str, float]:
    """The worker's accounted events by outcome (stored, duplicate, rejected)."""
    out = dict.fromkeys(_ACCOUNTED, 0.0)
    try:
        text = _metrics_text(settings)
    except OSError:
        return out
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            if smp.name in out:
                out[smp.name] += smp.value
    return out


_STAGE = ("omnimeter_stage_seconds_total", "omnimeter_stage_cpu_seconds_total")


def _snapshot(settings: Settings, pid: int) -> dict[str, Any]:
    """The worker's accounted events, its stage counters (streams/timing.py) and the CPU seconds of the
    process and of its event loop thread (the main thread: Faust, the agent, the flush's coroutine)."""
    text = _metrics_text(settings)
    out: dict[str, Any] = {"events": 0.0, "wall": {}, "cpu": {}, "t": time.perf_counter()}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            if smp.name in _ACCOUNTED:
                out["events"] += smp.value
            elif smp.name in _STAGE:
                out["wall" if smp.name == _STAGE[0] else "cpu"][smp.labels["stage"]] = smp.value
    out["process_cpu"], out["loop_cpu"] = _cpu_s(pid), _cpu_s(pid, pid)
    return out


def _cpu_s(pid: int, tid: int | None = None) -> float:
    """utime + stime of a process (or one of its threads), in seconds."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Loop-thread stages: their CPU is the event loop's; the rest of the loop's CPU is Faust's delivery.
_LOOP_STAGES = ("parse", "window", "classify", "check", "ack")  # (publish, changelog await: wall only)


def breakdown(first: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    """Microseconds per accounted event, per stage (wall; CPU of the thread that ran it), between two
    snapshots; 'faust delivery + loop' is the event loop thread's CPU outside the stages timed on it."""
    n = max(last["events"] - first["events"], 1.0)

    def per(d: str, k: str) -> float:
        return (last[d].get(k, 0.0) - first[d].get(k, 0.0)) * 1e6 / n

    stages = {k: {"wall_us": per("wall", k), "cpu_us": per("cpu", k)} for k in last["wall"]}
    loop = (last["loop_cpu"] - first["loop_cpu"]) * 1e6 / n
    in_stages = sum(stages[k]["cpu_us"] for k in _LOOP_STAGES if k in stages)
    return {
        "events": n,
        "elapsed_us": (last["t"] - first["t"]) * 1e6 / n,
        "process_cpu_us": (last["process_cpu"] - first["process_cpu"]) * 1e6 / n,
        "loop_thread_cpu_us": loop,
        "faust_delivery_and_loop_cpu_us": loop - in_stages,
        "stages": stages,
    }


def _profiler(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the worker (GIL holders only: the GIL is what bounds it), collapsed stacks."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        say("py-spy not installed (pip install py-spy): no profile")
        return None
    return subprocess.Popen(
        [str(spy), "record", "--pid", str(pid), "--rate", "50", "--gil", "--nonblocking", "--threads",
         "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip


# Where a sample goes: the outermost omnimeter stage on its stack, else the library it is in.
_PROFILE_STAGES = (
    ("parse", ("parse_record (omnimeter/schemas/parse.py",)),
    ("window", ("observe (omnimeter/streams/faust/windows.py",)),
    ("replay", ("load (omnimeter/streams/dedupe.py",)),
    ("dedupe look-up", ("stored_keys (omnimeter/sinks/clickhouse.py",)),
    ("classify + raw rows", ("classify (omnimeter/streams/dedupe.py",)),
    ("rate + line rows", ("rate (omnimeter/streams/rate.py",)),
    ("check", ("check_rows (omnimeter/streams/quarantine.py",)),
    ("insert", ("insert (omnimeter/sinks/clickhouse.py",)),
    ("ack", ("ack (omnimeter/streams/faust/app.py",)),
    ("rollup", ("refresh (omnimeter/sinks/rollups.py",)),
    ("alerts", ("round (omnimeter/streams/alerts.py",)),
    ("metrics", ("flushed (omnimeter/streams/metrics.py", "prometheus_client")),
)
_PROFILE_LIBS = (
    ("faust/mode", ("faust/", "mode/")), ("aiokafka", ("aiokafka/", "kafka/")), ("rocksdb", ("rocksdict", "rocksdb")),
    ("asyncio loop", ("asyncio/", "uvloop", "selectors")), ("other omnimeter", ("omnimeter/",)),
)  # fmt: skip


def profile_shares(path: Path, top: int = 12) -> dict[str, Any]:
    """Shares of the samples per stage (outermost match) and the top functions by own samples."""
    shares: dict[str, float] = {}
    own: dict[str, float] = {}
    total = 0.0
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = float(count)
        total += n
        frames = stack.split(";")
        where = next((name for f in frames for name, pats in _PROFILE_STAGES if any(p in f for p in pats)), None)
        # else the innermost library frame (the stack's root is Faust's worker for every thread)
        where = where or next(
            (name for f in frames[::-1] for name, pats in _PROFILE_LIBS if any(p in f for p in pats)), "other"
        )
        shares[where] = shares.get(where, 0.0) + n
        own[frames[-1]] = own.get(frames[-1], 0.0) + n
    if not total:
        return {}
    return {
        "samples": total,
        "shares": {k: v / total for k, v in sorted(shares.items(), key=lambda kv: -kv[1])},
        "top_own": {k: v / total for k, v in sorted(own.items(), key=lambda kv: -kv[1])[:top]},
    }


def pipeline(
    settings: Settings,
    events_per_record: int,
    produced: int,
    timeout_s: float = 1800,
    profile: Path | None = None,
    also: Sequence[Settings] = (),
) -> dict[str, Any]:
    """Run the worker over a topic already full, until the group's lag is 0. The rate is taken from the
    worker's accounted-events counter, from its first flush to its last (start-up excluded): flushes come
    every second, while offset commits can come 10 s apart under load (Faust flushes the producer first),
    which made a rate from commits vary by a quarter between runs. `also`: more workers of the same group
    (scale-out); the account is then the sum of all workers' and the stage breakdown the first worker's."""
    others = [WorkerProcess(s).start() for s in also]
    worker = WorkerProcess(settings).start()
    assert worker.proc is not None
    every = [settings, *also]

    def accounted() -> float:
        return sum(_accounted(s) for s in every)

    first: tuple[float, float] | None = None  # (time, events) at the first flush seen
    last: tuple[float, float] = (0.0, 0.0)  # (time, events) when the count last grew
    snaps: list[dict[str, Any]] = []  # stage counters at the first flush seen and when the count last grew
    spy: subprocess.Popen[bytes] | None = None  # started at the first flush: start-up is not profiled
    done: dict[str, Any] = {}
    peak = 0
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            now, events = time.perf_counter(), accounted()
            peak = max([peak, *(_rss_peak_kib(w.proc.pid) for w in (worker, *others) if w.proc is not None)])
            if events > last[1]:
                snap = _snapshot(settings, worker.proc.pid)
                snaps[len(snaps) > 0 :] = [snap]  # [first, latest]
                if first is None and profile is not None:
                    spy = _profiler(worker.proc.pid, profile)
                last = (now, events)
                first = first or (now, events)
            quiet = now - last[0] > 2.0  # no flush for 2 s: maybe done
            if first is not None and quiet and last[0] > first[0] and _committed(settings)[1] == 0:
                if accounted() != last[1]:
                    continue  # a flush ended while the lag was read (a loaded machine): not done yet
                elapsed, counted = last[0] - first[0], last[1] - first[1]
                if last[1] != produced:  # the worker's account must match what was produced, exactly
                    raise RuntimeError(f"the worker accounted for {last[1]:.0f} events, {produced} were produced")
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(60)
                outcomes = [_outcomes(s) for s in every]
                done = {
                    "outcomes": {k.split("_")[2]: sum(o[k] for o in outcomes) for k in _ACCOUNTED},
                    "records_per_s": counted / events_per_record / elapsed,
                    "events_per_s": counted / elapsed,
                    "seconds": elapsed,
                    "peak_rss_mib": peak / 1024,
                    "accounted_events": last[1],
                    "workers": len(every),
                    "per_event": breakdown(snaps[0], snaps[-1]),
                    "profile": {"file": str(profile), **profile_shares(profile)} if profile is not None else {},
                }
                break
            for w in (worker, *others):
                if not w.alive():
                    raise RuntimeError(w.log_tail())
            time.sleep(0.5)  # each scrape costs the worker a little CPU: not too often
        else:
            raise TimeoutError("pipeline did not catch up")
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
        for w in (worker, *others):
            w.stop()
    done["stored_positions"] = stored_positions(settings)
    if done["stored_positions"] != produced:  # and the store holds each event's outcome exactly once
        raise RuntimeError(f"the store holds {done['stored_positions']} outcomes, {produced} events were produced")
    return done


def preload_history(settings: Settings, rows: int, tenants: Sequence[str], sources: Sequence[str]) -> dict[str, Any]:
    """Fill a fresh store's raw_events with `rows` accepted events of `tenants`, ingested over the last 30
    days (inside the 35-day dedupe window, so every look-up of the pipeline that follows has to tell its
    events from them), with one INSERT ... SELECT FROM numbers(): the traffic's tenants and sources, random
    UUIDs as ids (none is a produced event's), their own topic."""
    from omnimeter.sinks.clickhouse import connect
    from omnimeter.sinks.tables import RAW_EVENTS

    db = settings.clickhouse.database
    store = connect(settings.resolved_clickhouse_url, db)
    try:
        t = time.perf_counter()
        names = ", ".join(RAW_EVENTS.columns)
        tenant_list = ", ".join(f"'{x}'" for x in tenants)
        source_list = ", ".join(f"'{x}'" for x in sources)
        store.command(
            f"INSERT INTO {db}.{RAW_EVENTS.name} ({names}) SELECT "
            f"[{tenant_list}][number % {len(tenants)} + 1], [{source_list}][number % {len(sources)} + 1], "
            "toString(reinterpretAsUUID(sipHash128(number))), 'message.sent', "
            "now64(3) - toIntervalMillisecond(number * 129600 % 2592000000), '1.0', 'application/json', 'sms', "
            "'{}', '{}', 'bench-history-preload', number % 6, intDiv(number, 6), 0, "
            "now64(3) - toIntervalMillisecond(number * 129600 % 2592000000) "
            f"FROM numbers({rows})",
            settings={"max_insert_threads": 2},
        )
        seconds = time.perf_counter() - t
        (count,) = store.query_rows(f"SELECT count() FROM {db}.{RAW_EVENTS.name}")[0]
    finally:
        store.close()
    if count != rows:
        raise RuntimeError(f"the history preload left {count} rows in raw_events, not {rows}")
    return {"rows": count, "seconds": seconds}


def stored_positions(settings: Settings) -> int:
    """Distinct source positions (partition, offset, index) with an outcome in raw_events, duplicate_events
    or rejected_events, read from the worker's store once it has stopped."""
    from omnimeter.sinks.clickhouse import connect

    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database, migrate=False)
    try:
        union = " UNION ALL ".join(
            f"SELECT kafka_partition, kafka_offset, batch_index FROM {settings.clickhouse.database}.{t} "
            f"WHERE kafka_topic = '{settings.topics.usage}'"  # not the history stage's preloaded rows
            for t in ("raw_events", "duplicate_events", "rejected_events")
        )
        return int(
            store.query_rows(f"SELECT uniqExact(kafka_partition, kafka_offset, batch_index) FROM ({union})")[0][0]
        )
    finally:
        store.close()


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


def scale_out(tmp: Path, settings_for: Any, workers: int, produced: int) -> dict[str, Any]:
    """The batch records through one worker, then through `workers` workers of one group, each run on an
    embedded store of its own shared by `omnimeter store serve` (README: two workers on one host). Both
    topics hold the same events: on one store the second run's would all be duplicates of the first's."""
    say("scale-out: one worker on a shared store")
    with _shared_store(tmp / "scale-store-one") as (url, _):
        one = pipeline(settings_for("scale1", store=url), 100, produced)
    say(f"  {one['events_per_s']:,.0f} events/s")
    say(f"scale-out: {workers} workers of one group on a shared store")
    with _shared_store(tmp / "scale-store-many") as (url, server):
        group = [settings_for(f"scale2-w{i}", store=url, group="scale2") for i in range(workers)]
        store_cpu = _cpu_s(server.pid)
        many = pipeline(group[0], 100, produced, also=group[1:])
        many["store_process_cpu_s"] = _cpu_s(server.pid) - store_cpu
    say(f"  {many['events_per_s']:,.0f} events/s")
    if one["outcomes"] != many["outcomes"]:  # the same events: the same outcomes, none taken for a duplicate
        raise RuntimeError(f"scale-out: one worker's outcomes {one['outcomes']}, {workers} workers' {many['outcomes']}")
    return {"one": one, "many": many, "workers": workers, "ratio": many["events_per_s"] / one["events_per_s"]}


@contextmanager
def _shared_store(data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`omnimeter store serve` on a fresh embedded store: its URL and process, stopped on exit."""
    data_dir.mkdir()
    port, log_file = free_port(), data_dir.with_suffix(".log")
    server = subprocess.Popen(
        [sys.executable, "-m", "omnimeter", "store", "serve", "--port", str(port)],
        env={**os.environ, "OMNIMETER_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=log_file.open("wb"),
    )
    try:
        key_file, deadline = data_dir / "store_key", time.monotonic() + 60
        while not key_file.exists() or not _listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"store serve did not start: {log_file.read_text()[-2000:]}")
            time.sleep(0.2)
        yield f"omnimeter://omnimeter:{key_file.read_text().strip()}@127.0.0.1:{port}", server
    finally:
        server.terminate()
        server.wait(30)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000, help="single-event records")
    ap.add_argument("--batch-records", type=int, default=2_000, help="records of 100 events")
    ap.add_argument("--stage-events", type=int, default=50_000)
    ap.add_argument("--freshness-seconds", type=float, default=20.0)
    ap.add_argument("--pipeline-only", action="store_true", help="only the two full-pipeline runs (iterating)")
    ap.add_argument("--history-rows", type=int, default=20_000_000, help="rows preloaded in raw_events (0: skip)")
    ap.add_argument("--scale-workers", type=int, default=2, help="workers of the scale-out stage (0: skip)")
    args = ap.parse_args()
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"

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
    # the load average of the machine at the start and the end: other work on it moves every figure
    result: dict[str, Any] = {"when": datetime.now(UTC).isoformat(), "cpus": os.cpu_count(), "load": [os.getloadavg()]}
    try:

        def settings_for(name: str, partitions: int = 6, store: str = "", group: str = "") -> Settings:
            s = Settings(
                data_dir=tmp / name,
                kafka=KafkaSettings(bootstrap=bootstrap, consumer_group=f"bench-{group or name}"),
                clickhouse=ClickHouseSettings(url=store),
                worker=WorkerSettings(web_port=free_port(), id=name),
                topics=Topics(
                    usage=f"bench-{group or name}",
                    dlq=f"bench-{name}-dlq",
                    reference="bench-reference",
                    alerts=f"bench-{name}-alerts",
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
        # the history and scale-out stages rate the same batch records as the batch run, each on its topic
        history = settings_for("history") if args.history_rows and not args.pipeline_only else None
        scale = [] if args.pipeline_only or not args.scale_workers else ["scale1", "scale2"]
        for s in [batch, *([history] if history else []), *(settings_for(n) for n in scale)]:
            produce(
                records(traffic(2, start, timedelta(milliseconds=20)), args.batch_records * 100, batch_size=100),
                bootstrap,
                s.topics.usage,
                show_progress=False,
            )

        RESULTS.mkdir(exist_ok=True)
        full = not args.pipeline_only
        if full:
            say("C_raw: raw aiokafka consumption")
            c_raw = asyncio.run(_raw_consume(bootstrap, single.topics.usage, args.records))
            say(f"  {c_raw['rate']:,.0f} records/s")
            say("F0: a Faust agent that counts records")
            f0 = faust_count(bootstrap, single.topics.usage, args.records, tmp)
            say(f"  {f0['rate']:,.0f} records/s")
            say("stages alone")
            stages = stage_rates(args.stage_events)
            say(f"  {json.dumps({k: round(v) for k, v in stages.items()})}")
            result.update({"c_raw": c_raw, "f0": f0, "stages": stages})
        say("full pipeline, single-event records")
        full_single = pipeline(single, 1, args.records, profile=RESULTS / f"{stamp}-single.pyspy.txt")
        say(f"  {full_single['records_per_s']:,.0f} records/s")
        say("full pipeline, batch records of 100 events")
        full_batch = pipeline(batch, 100, args.batch_records * 100, profile=RESULTS / f"{stamp}-batch.pyspy.txt")
        say(f"  {full_batch['events_per_s']:,.0f} events/s")
        result.update({"full_single": full_single, "full_batch": full_batch})
        if full:
            fresh = {}
            for share in (0.5, 0.9):
                rate = share * full_batch["events_per_s"]
                s = settings_for(f"fresh{int(share * 100)}")
                say(f"freshness at {share:.0%} of the batch pipeline's rate ({rate:,.0f} events/s)")
                key = f"{int(share * 100)}pct"
                fresh[key] = freshness(s, rate, args.freshness_seconds, batch=100)
                say(f"  p50 {fresh[key]['p50_s']:.2f} s, p99 {fresh[key]['p99_s']:.2f} s")
            ratios = {
                "full_single_over_f0": full_single["records_per_s"] / f0["rate"],
                "full_batch_events_over_c_raw": full_batch["events_per_s"] / c_raw["rate"],
                "f0_over_c_raw": f0["rate"] / c_raw["rate"],
            }
            result.update({"freshness": fresh, "ratios": ratios})
            if history is not None:
                sample = traffic(2, start, timedelta(milliseconds=20))
                sources = sorted({sample.event()["source"] for _ in range(2_000)})
                tenants = [t.id for t in sample.world.tenants]
                say(f"history: preloading {args.history_rows:,} rows into raw_events (one INSERT ... SELECT)")
                preload = preload_history(history, args.history_rows, tenants, sources)
                say(f"  {preload['seconds']:.0f} s; full pipeline, batch records, on that store")
                full_history = pipeline(history, 100, args.batch_records * 100)
                say(f"  {full_history['events_per_s']:,.0f} events/s")
                result["history"] = {"preload": preload, "full": full_history}
                ratios["history_over_empty"] = full_history["events_per_s"] / full_batch["events_per_s"]
            if scale:
                result["scale_out"] = scale_out(tmp, settings_for, args.scale_workers, args.batch_records * 100)
                ratios["scale_out_over_one"] = result["scale_out"]["ratio"]
    finally:
        broker.down()
    result["load"].append(os.getloadavg())
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(where_time_goes(full_single, full_batch))
    if not full:
        print(f"results: {out}")
        return 0
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
{"ratio full single / F0 (target >= 0.5)":<48}{r["full_single_over_f0"]:>16.2f}
{"ratio full batch events / C_raw (target >= 0.05)":<48}{r["full_batch_events_over_c_raw"]:>16.3f}
{"load average at start / end (1 min)":<48}{result["load"][0][0]:>8.1f}{result["load"][-1][0]:>8.1f}""")
    if "history" in result:
        h = result["history"]["full"]["events_per_s"]
        label = f"full batch, {args.history_rows / 1e6:g}M rows in raw_events (events/s)"
        print(f"{label:<48}{h:>16,.0f}")
        print(f"{'ratio history / empty store (target >= 0.9)':<48}{r['history_over_empty']:>16.2f}")
    if "scale_out" in result:
        so = result["scale_out"]
        print(f"{'shared store, 1 worker (events/s)':<48}{so['one']['events_per_s']:>16,.0f}")
        label = f"shared store, {so['workers']} workers (events/s)"
        print(f"{label:<48}{so['many']['events_per_s']:>16,.0f}")
        print(f"{'ratio scale-out / one worker':<48}{so['ratio']:>16.2f}")
    print(f"results: {out}")
    return 0


def where_time_goes(single: dict[str, Any], batch: dict[str, Any]) -> str:
    """The per-event breakdown of both pipeline runs, and the profile's top shares."""
    title = "where an event's time goes (us/event)"
    rows = [f"\n{title:<40}{'single wall':>12}{'cpu':>8}{'batch wall':>12}{'cpu':>8}"]
    s, b = single["per_event"], batch["per_event"]
    for name in s["stages"]:
        a, c = s["stages"][name], b["stages"][name]
        rows.append(f"{name:<40}{a['wall_us']:>12.1f}{a['cpu_us']:>8.1f}{c['wall_us']:>12.1f}{c['cpu_us']:>8.1f}")
    for key, label in (
        ("faust_delivery_and_loop_cpu_us", "faust delivery + loop (loop cpu left)"),
        ("loop_thread_cpu_us", "event loop thread cpu"),
        ("process_cpu_us", "process cpu (all threads)"),
        ("elapsed_us", "elapsed"),
    ):
        rows.append(f"{label:<40}{'':>12}{s[key]:>8.1f}{'':>12}{b[key]:>8.1f}")
    for name, run in (("single", single), ("batch", batch)):
        prof = run.get("profile") or {}
        if prof.get("shares"):
            top = ", ".join(f"{k} {v:.0%}" for k, v in list(prof["shares"].items())[:8])
            rows.append(f"profile {name} (py-spy --gil, {prof['samples']:.0f} samples): {top}")
            rows.append(f"  file: {prof['file']}")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
