"""Active alerts per tenant and kind, for Prometheus (deploy/prometheus/rules.yml): how many alerts of the
`alerts` table are of a period still running (a cycle, a day, an hour that has not ended). Bounded labels:
`tenant` takes only ids of directory tenants some threshold applies to (at most reports/alerts.py
MAX_TENANTS), `kind` the five kinds. Computed at most once per `TTL_S`; a failure keeps the last values.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from prometheus_client.core import GaugeMetricFamily

from omnimeter.reports.alerts import MAX_TENANTS, watched
from omnimeter.reports.alerts_report import KINDS
from omnimeter.reports.reference import load_reference
from omnimeter.reports.tenant_gauges import CachedCollector
from omnimeter.sinks.clickhouse import ClickHouseStore

log = logging.getLogger(__name__)
TTL_S = 30.0
Active = Mapping[tuple[str, str], int]  # (tenant, kind) -> alerts of a running period


def family(active: Active) -> GaugeMetricFamily:
    g = GaugeMetricFamily(
        "omnimeter_tenant_active_alerts",
        "Alerts published whose cycle, day or hour is still running, by tenant and kind",
        labels=["tenant", "kind"],
    )
    for (tenant, kind), n in sorted(active.items()):
        g.add_metric([tenant, kind], float(n))
    return g


def active_alerts(store: ClickHouseStore) -> dict[tuple[str, str], int]:
    tenants = [t.id for t in watched(load_reference(store).directory)[:MAX_TENANTS]]
    if not tenants:
        return {}
    rows = store.query_rows(
        f"SELECT tenant_id, replaceOne(type, 'omnimeter.alert.', '') AS kind, count() FROM {store.db}.alerts FINAL "
        "WHERE tenant_id IN %(ts)s AND period_end > now64(3) GROUP BY tenant_id, kind",
        {"ts": tenants},
    )
    out = {(t, k): 0 for t in tenants for k in KINDS}
    out.update({(str(t), str(k)): int(n) for t, k, n in rows if k in KINDS})
    return out


class ActiveAlertsCollector(CachedCollector):
    def __init__(self, source: Callable[[], Active], ttl_s: float = TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        super().__init__(source, lambda active: [family(active)], {}, ttl_s, clock)
