"""Per-tenant gauges of the running billing cycle, for the alerts of deploy/prometheus/rules.yml: how much
of each commitment and of the carrier credit is used, and the run-rate forecast at the cycle's end, as
ratios (1 = the limit; the dashboard's 80 % amber and 100 % red are 0.8 and 1).

Labels are bounded: `tenant` takes only ids of directory tenants that have a commitment or a credit (at
most `MAX_TENANTS`; more are left out and logged), `meter` only the committed meters of the directory.
Computed from the same cycle report as the dashboard, at most once per `TTL_S` (a scrape in between gets
the last values); a tenant whose report fails is left out of that scrape and logged, /metrics still answers.
Ratios are floats: they are for monitoring, never for billing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from omnimeter.reports.catalog import run_report
from omnimeter.reports.model import Request
from omnimeter.reports.reference import load_reference
from omnimeter.sinks.clickhouse import ClickHouseStore

log = logging.getLogger(__name__)
MAX_TENANTS = 1_000
TTL_S = 60.0
Warnings = Mapping[str, list[dict[str, Any]]]  # tenant id -> the cycle report's `warnings` rows


def _ratio(percent: str | None) -> float:
    return float(Decimal(percent or 0) / 100)


def families(warnings: Warnings) -> list[GaugeMetricFamily]:
    """The gauges of the given tenants' running cycles (pure)."""
    pair, one = ["tenant", "meter"], ["tenant"]
    used = GaugeMetricFamily(
        "omnimeter_tenant_commitment_used_ratio", "Used over included of a commitment in the running cycle", labels=pair
    )
    ahead = GaugeMetricFamily(
        "omnimeter_tenant_commitment_forecast_ratio", "Run-rate forecast at the cycle's end over included", labels=pair
    )
    credit = GaugeMetricFamily(
        "omnimeter_tenant_credit_used_ratio", "Carrier credit spent over the credit in the running cycle", labels=one
    )
    credit_ahead = GaugeMetricFamily(
        "omnimeter_tenant_credit_forecast_ratio", "Run-rate forecast of carrier credit spent over it", labels=one
    )
    for tenant, rows in sorted(warnings.items()):
        for w in rows:
            if w["kind"] == "commitment":
                used.add_metric([tenant, w["meter"]], _ratio(w["used_percent"]))
                ahead.add_metric([tenant, w["meter"]], _ratio(w["forecast_percent"]))
            else:
                credit.add_metric([tenant], _ratio(w["used_percent"]))
                credit_ahead.add_metric([tenant], _ratio(w["forecast_percent"]))
    return [used, ahead, credit, credit_ahead]


def current_warnings(store: ClickHouseStore) -> dict[str, list[dict[str, Any]]]:
    directory = load_reference(store).directory
    tenants = [t for t in directory.tenants if t.commitments or t.carrier_credit is not None]
    if len(tenants) > MAX_TENANTS:
        log.warning("tenant gauges: %d tenants with commitments, only the first %d exported", len(tenants),
                    MAX_TENANTS)  # fmt: skip
    out: dict[str, list[dict[str, Any]]] = {}
    for t in tenants[:MAX_TENANTS]:
        try:
            doc = run_report(store, "cycle", Request(tenant=t.id)).to_json()
        except Exception:
            log.exception("tenant gauges: the cycle of %s failed; left out of this scrape", t.id)
            continue
        out[t.id] = doc["sections"]["warnings"]
    return out


class CachedCollector(Collector):
    """Yields `families(source())`, recomputing at most every `ttl_s` (a scrape in between gets the last
    values; a failing source keeps them and is logged)."""

    def __init__(
        self, source: Callable[[], Any], families: Callable[[Any], list[GaugeMetricFamily]], empty: Any,
        ttl_s: float = TTL_S, clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._source, self._families, self._empty = source, families, empty
        self._ttl, self._clock = ttl_s, clock
        self._lock = threading.Lock()
        self._at: float | None = None
        self._last: Any = empty

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            now = self._clock()
            if self._at is None or now - self._at >= self._ttl:
                try:
                    self._last = self._source()
                except Exception:
                    log.exception("gauges failed; the last values are exported")
                self._at = now
            last = self._last
        yield from self._families(last)

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return self._families(self._empty)  # names only: registering does not compute the gauges


class TenantCycleCollector(CachedCollector):
    """Registered on the worker's registry; recomputes at most every `ttl_s`."""

    def __init__(self, source: Callable[[], Warnings], ttl_s: float = TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        super().__init__(source, families, {}, ttl_s, clock)
