"""`omnimeter status`: one screen for humans: lag per partition, throughput, freshness, errors.

Reads the worker's /metrics twice, `interval_s` apart (throughput is the difference), and the group's
lag from Kafka itself (so it answers even when the worker does not).
"""

from __future__ import annotations

import time
import urllib.request
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

from omnimeter.reports.section import Section
from omnimeter.settings import Settings
from omnimeter.streams.kafka_admin import group_lag


def scrape(url: str) -> dict[str, float]:
    """Sum of each sample name over its labels (rejected_total also kept per reason)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as r:
        text = r.read().decode()
    out: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[s.name] += s.value
            if s.name == "omnimeter_events_rejected_total":
                out[f"rejected:{s.labels['reason']}"] += s.value
    return out


def status(settings: Settings, worker_url: str, interval_s: float = 2.0) -> list[Section]:
    lags = group_lag(settings.kafka, settings.kafka.consumer_group, settings.topics.usage)
    sections = [
        Section(
            f"consumer lag, group {settings.kafka.consumer_group}",
            ["partition", "committed", "end", "lag"],
            [(p.partition, p.committed, p.end, p.lag) for p in lags] + [("all", "", "", sum(p.lag for p in lags))],
        )
    ]
    try:
        a = scrape(worker_url)
        time.sleep(interval_s)
        b = scrape(worker_url)
    except OSError as e:
        sections.append(Section("worker", ["state", "detail"], [("unreachable", f"{worker_url}: {e}")]))
        return sections

    def rate(name: str) -> str:
        return f"{(b.get(name, 0) - a.get(name, 0)) / interval_s:.1f}/s"

    uptime = time.time() - b.get("omnimeter_worker_start_time_seconds", time.time())
    sections.append(
        Section(
            "worker",
            ["state", "up", "records", "events stored", "lines", "duplicates"],
            [
                (
                    "paused" if b.get("omnimeter_worker_paused") else "running",
                    f"{uptime:.0f} s",
                    rate("omnimeter_records_consumed_total"),
                    rate("omnimeter_events_stored_total"),
                    rate("omnimeter_billable_lines_total"),
                    rate("omnimeter_events_duplicate_total"),
                )
            ],
        )
    )
    flushes = b.get("omnimeter_flush_duration_seconds_count", 0)
    mean_flush = b.get("omnimeter_flush_duration_seconds_sum", 0) / max(flushes, 1)
    lag_s = b.get("omnimeter_event_time_lag_seconds", 0)
    sections.append(
        Section(
            "freshness",
            ["event-time lag", "flushes", "mean flush"],
            [(f"{lag_s:.1f} s", int(flushes), f"{mean_flush:.3f} s")],
        )
    )
    errors = [(k.split(":", 1)[1], int(v)) for k, v in sorted(b.items()) if k.startswith("rejected:")]
    errors += [
        ("insert failures", int(b.get("omnimeter_sink_insert_failures_total", 0))),
        ("delivery gaps re-read", int(b.get("omnimeter_delivery_gaps_total", 0))),
        ("reference versions refused", int(b.get("omnimeter_reference_refused_total", 0))),
    ]
    sections.append(Section("errors since start", ["what", "count"], errors))
    return sections
