"""The alerts report: the alert events published for the viewer's tenants (streams/alerts.py), newest first.

Each row is one alert (one per threshold and period: the `alerts` table keeps one row per id), raised in the
report's period; `summary` counts them per kind. A tenant sees its own, a reseller its tenants', the
platform every tenant's. Alerts carry what the tenant pays and counts, never a cost.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from omnimeter.reports.model import Context
from omnimeter.reports.query import Agg
from omnimeter.reports.section import Section
from omnimeter.reports.shapes import section
from omnimeter.sinks.clickhouse import ClickHouseStore

MAX_LISTED = 1_000
KINDS = ("cycle_spend", "commitment", "credit", "prefix_spend", "pumping")


def alerts(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    period = ctx.period.as_instants()
    assert period.start is not None and period.end is not None
    params: dict[str, Any] = {
        "ts": [t.id for t in ctx.tenants], "b0": period.start.astimezone(UTC), "b1": period.end.astimezone(UTC),
        "n": MAX_LISTED,
    }  # fmt: skip
    where = f"FROM {store.db}.alerts FINAL WHERE tenant_id IN %(ts)s AND raised_at >= %(b0)s AND raised_at < %(b1)s"
    rows = store.query_rows(
        "SELECT raised_at, replaceOne(type, 'omnimeter.alert.', '') AS kind, tenant_id, subject, threshold, observed, "
        f"currency, period_start, period_end, message, evidence, alert_id {where} "
        "ORDER BY raised_at DESC, tenant_id, alert_id LIMIT %(n)s",
        params,
    ) if ctx.tenants else []  # fmt: skip
    counts = dict(store.query_rows(
        f"SELECT replaceOne(type, 'omnimeter.alert.', '') AS kind, count() {where} GROUP BY kind", params
    )) if ctx.tenants else {}  # fmt: skip
    tenants = dict(store.query_rows(
        f"SELECT replaceOne(type, 'omnimeter.alert.', '') AS kind, uniqExact(tenant_id) {where} GROUP BY kind", params
    )) if ctx.tenants else {}  # fmt: skip
    summary = [(k, int(counts.get(k, 0)), int(tenants.get(k, 0))) for k in KINDS]
    listed = [(r[0].replace(tzinfo=UTC) if r[0].tzinfo is None else r[0], *r[1:7],
               *(t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in r[7:9]), *r[9:]) for r in rows]  # fmt: skip
    return [section("alerts", "summary", summary), section("alerts", "alerts", listed)], []
