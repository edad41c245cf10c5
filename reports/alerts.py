"""Which thresholds a tenant's stored usage has crossed (issue 19): the alerts the worker publishes.

Measured on what is stored, with the same numbers the dashboard shows:
* cycle spend, commitments and credit: the running cycle's report (reports/cycle_report.py): the
  estimated charge the tenant pays (totals, party `tenant`, in the tenant's currency), each commitment's
  and the carrier credit's `used_percent` (the warnings section);
* spend per destination prefix: what the tenant pays for lines of one `destination_prefix` in the day (the
  tenant's time zone), today and yesterday (a crossing just before midnight is not missed);
* pumping: events per destination prefix in the hour (UTC) against the prefix's mean per hour over the
  guard's `baseline_days` before it, this hour and the one before; a high-risk prefix of the rate deck
  alerts from its own lower count.

Every crossing is an `Alert` whose id is the same whenever it is measured again (schemas/alerts.py);
publishing once is the worker's (streams/alerts.py). Pure of Kafka: the store and the reference only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from omnimeter.pricing.books import PriceBooks
from omnimeter.pricing.money import round_money
from omnimeter.reports.catalog import run_report
from omnimeter.reports.model import Request
from omnimeter.reports.reference import load_reference
from omnimeter.schemas.alerts import Alert, AlertKind, number
from omnimeter.schemas.directory import AlertThresholds, Directory, Tenant
from omnimeter.sinks.clickhouse import ClickHouseStore
from omnimeter.streams.alerts import Measured

log = logging.getLogger(__name__)
MAX_TENANTS = 1_000  # tenants evaluated in one sweep (the directory's first ones; more are logged)
PAID = "if(reseller_id != '', amount_reseller, amount_platform)"
PAID_CURRENCY = "if(reseller_id != '', currency_reseller, currency_platform)"
HOUR = timedelta(hours=1)


def watched(directory: Directory) -> list[Tenant]:
    """Tenants some threshold applies to."""
    return [t for t in directory.tenants if _applies(directory.alerts_for(t), t)]


def _applies(a: AlertThresholds, t: Tenant) -> bool:
    return bool(
        a.cycle_spend
        or (a.commitment_percent and t.commitments)
        or (a.credit_percent and t.carrier_credit is not None)
        or a.prefix_daily_spend is not None
        or a.pumping is not None
    )


class AlertEvaluator:
    """`evaluate(tenant ids, now)`; keeps each tenant's pumping baselines for the hour they are of."""

    def __init__(self, store: ClickHouseStore) -> None:
        self.store = store
        self._baselines: dict[tuple[str, datetime, int], dict[str, Decimal]] = {}

    def sweep_tenants(self) -> list[str]:
        directory = load_reference(self.store).directory
        tenants = watched(directory)
        if len(tenants) > MAX_TENANTS:
            log.warning("alerts: %d tenants have thresholds, a sweep evaluates the first %d", len(tenants),
                        MAX_TENANTS)  # fmt: skip
        return [t.id for t in tenants[:MAX_TENANTS]]

    def evaluate(self, tenant_ids: Iterable[str], now: datetime) -> Measured:
        tenants = sorted(set(tenant_ids))
        try:
            ref = load_reference(self.store)
        except Exception:  # no reference stored yet, the store not answering: every tenant is due again
            log.exception("alerts: reading the reference failed; %d tenants evaluated again next round", len(tenants))
            return Measured([], tenants)
        alerts: list[Alert] = []
        failed: list[str] = []
        for tid in tenants:
            tenant = ref.directory.tenant(tid)
            if tenant is None:
                continue
            thresholds = ref.directory.alerts_for(tenant)
            if not _applies(thresholds, tenant):
                continue
            try:
                alerts += self._cycle(tenant, thresholds, now)
                if thresholds.prefix_daily_spend is not None:
                    alerts += self._prefix_spend(tenant, thresholds.prefix_daily_spend, now)
                if thresholds.pumping is not None:
                    alerts += self._pumping(tenant, thresholds, ref.books, now)
            except Exception:
                log.exception("alerts: measuring tenant %s failed; evaluated again next round", tid)
                failed.append(tid)
        self._forget_before(now)
        return Measured(alerts, failed)

    # --- the running cycle: spend, commitments, credit -------------------------------------------------
    def _cycle(self, t: Tenant, a: AlertThresholds, now: datetime) -> list[Alert]:
        if not (a.cycle_spend or (a.commitment_percent and t.commitments)
                or (a.credit_percent and t.carrier_credit is not None)):  # fmt: skip
            return []
        report = run_report(self.store, "cycle", Request(tenant=t.id), now=now)
        sections = {s.title: s for s in report.sections}
        cycle = _rows(sections["cycle"])[0]
        start, end = (datetime.fromisoformat(str(cycle[k])).astimezone(UTC) for k in ("cycle_start", "cycle_end"))
        out: list[Alert] = []
        spend = next(
            (r["charge"] for r in _rows(sections["totals"]) if r["party"] == "tenant" and r["currency"] == t.currency),
            Decimal(0),
        )
        for amount in sorted(a.cycle_spend):
            if spend >= amount:
                out.append(Alert(
                    AlertKind.CYCLE_SPEND, t.id, t.reseller or "", "", number(amount), number(spend), t.currency,
                    start, end, f"cycle spend {spend} {t.currency} reached {number(amount)} {t.currency}",
                    {"cycle_start": start.isoformat(), "estimated_charge": number(spend)}, now,
                ))  # fmt: skip
        for w in _rows(sections["warnings"]):
            used = Decimal(w["used_percent"])
            levels = a.commitment_percent if w["kind"] == "commitment" else a.credit_percent
            kind = AlertKind.COMMITMENT if w["kind"] == "commitment" else AlertKind.CREDIT
            subject = w["meter"] if kind is AlertKind.COMMITMENT else ""
            for p in sorted(levels):
                if used >= p:
                    out.append(Alert(
                        kind, t.id, t.reseller or "", subject, number(p), number(used),
                        w["currency"] if kind is AlertKind.CREDIT else "", start, end,
                        f"{w['message']} (threshold {number(p)} %)",
                        {"used": number(w["used"]), "limit": number(w["limit"]), "used_percent": number(used),
                         "forecast": number(w["forecast"]), "overage_cost": number(w["overage_cost"]),
                         "currency": w["currency"]},
                        now,
                    ))  # fmt: skip
        return out

    # --- spend per destination prefix per day --------------------------------------------------------
    def _prefix_spend(self, t: Tenant, limit: Decimal, now: datetime) -> list[Alert]:
        zone = ZoneInfo(t.timezone)
        today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        out: list[Alert] = []
        for day in (today - timedelta(days=1), today):
            lo = day.astimezone(UTC)
            # the next midnight in the zone (a 23 or 25 hour day stays one day)
            hi = datetime.combine((day + timedelta(days=1)).date(), datetime.min.time(), zone).astimezone(UTC)
            rows = self.store.query_rows(
                f"SELECT destination_prefix, {PAID_CURRENCY} AS cur, sum({PAID}) AS paid, count() "
                f"FROM {self.store.db}.billable_lines WHERE tenant_id = %(t)s AND event_time >= %(lo)s "
                "AND event_time < %(hi)s AND destination_prefix != '' GROUP BY destination_prefix, cur "
                "ORDER BY destination_prefix, cur",
                {"t": t.id, "lo": lo, "hi": hi},
            )
            for prefix, cur, paid, lines in rows:
                paid = round_money(Decimal(paid), cur or t.currency)
                if paid >= limit and (cur or t.currency) == t.currency:
                    out.append(Alert(
                        AlertKind.PREFIX_SPEND, t.id, t.reseller or "", prefix, number(limit), number(paid),
                        t.currency, lo, hi,
                        f"spend to +{prefix} on {day.date()} is {paid} {t.currency}, over {number(limit)} {t.currency}",
                        {"prefix": prefix, "day": day.date().isoformat(), "time_zone": t.timezone,
                         "spend": number(paid), "lines": int(lines)},
                        now,
                    ))  # fmt: skip
        return out

    # --- pumping ---------------------------------------------------------------------------------------
    def _pumping(self, t: Tenant, a: AlertThresholds, books: PriceBooks, now: datetime) -> list[Alert]:
        guard = a.pumping
        assert guard is not None
        risky = books.high_risk_prefixes
        hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        out: list[Alert] = []
        for start in (hour - HOUR, hour):
            counts = self._events_per_prefix(t.id, start, start + HOUR)
            if not counts:
                continue
            baseline = self._baseline(t.id, start, guard.baseline_days)
            for prefix, count in sorted(counts.items()):
                mean = baseline.get(prefix, Decimal(0))
                high_risk = prefix in risky
                spike = count >= guard.min_events and Decimal(count) > guard.factor * mean
                if not (spike or (high_risk and count >= guard.high_risk_min_events)):
                    continue
                need = guard.high_risk_min_events if high_risk and not spike else guard.min_events
                why = "a high-risk prefix" if high_risk else f"over {number(guard.factor)} x its baseline"
                out.append(Alert(
                    AlertKind.PUMPING, t.id, t.reseller or "", prefix, str(need), str(count), "", start,
                    start + HOUR,
                    f"{count} events to +{prefix} in the hour from {start:%Y-%m-%d %H:%M} UTC, {why} "
                    f"(baseline {mean.quantize(Decimal('0.01'))} per hour over {guard.baseline_days} days)",
                    {"prefix": prefix, "count": count, "baseline_per_hour": number(mean.quantize(Decimal("0.0001"))),
                     "baseline_days": guard.baseline_days,
                     "baseline_from": (start - timedelta(days=guard.baseline_days)).isoformat(),
                     "window_start": start.isoformat(), "window_end": (start + HOUR).isoformat(),
                     "factor": number(guard.factor), "min_events": guard.min_events, "high_risk": high_risk},
                    now,
                ))  # fmt: skip
        return out

    def _events_per_prefix(self, tenant: str, lo: datetime, hi: datetime) -> dict[str, int]:
        rows = self.store.query_rows(
            f"SELECT destination_prefix, uniqExact(event_source, event_id) FROM {self.store.db}.billable_lines "
            "WHERE tenant_id = %(t)s AND event_time >= %(lo)s AND event_time < %(hi)s AND destination_prefix != '' "
            "GROUP BY destination_prefix",
            {"t": tenant, "lo": lo, "hi": hi},
        )
        return {str(p): int(n) for p, n in rows}

    def _baseline(self, tenant: str, hour: datetime, days: int) -> dict[str, Decimal]:
        """Mean events per hour per prefix over `days` before `hour` (cached for the hour)."""
        key = (tenant, hour, days)
        found = self._baselines.get(key)
        if found is None:
            counts = self._events_per_prefix(tenant, hour - timedelta(days=days), hour)
            hours = Decimal(days * 24)
            found = self._baselines[key] = {p: Decimal(n) / hours for p, n in counts.items()}
        return found

    def _forget_before(self, now: datetime) -> None:
        oldest = now.astimezone(UTC) - 3 * HOUR
        for key in [k for k in self._baselines if k[1] < oldest]:
            del self._baselines[key]


def _rows(section: Any) -> list[dict[str, Any]]:
    cols: Sequence[str] = section.columns
    return [dict(zip(cols, r, strict=True)) for r in section.rows]
