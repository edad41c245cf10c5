"""The per-tenant gauges behind the tenant alerts: ratios from the cycle's warnings, bounded labels, and
one computation per TTL whatever the number of scrapes."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from omnimeter.reports.tenant_gauges import TenantCycleCollector


def _w(kind: str, used: str, forecast: str, meter: str = "whatsapp.template.marketing") -> dict[str, Any]:
    return {"kind": kind, "meter": meter if kind == "commitment" else "carrier", "used_percent": used,
            "forecast_percent": forecast}  # fmt: skip


def test_gauges_are_ratios_per_tenant_and_meter() -> None:
    calls: list[int] = []
    now = [0.0]

    def source() -> dict[str, list[dict[str, Any]]]:
        calls.append(1)
        return {"tenant-001": [_w("commitment", "94.0", "122.5"), _w("credit", "104.9", None)]}  # type: ignore[arg-type]

    registry = CollectorRegistry()
    registry.register(TenantCycleCollector(source, ttl_s=60, clock=lambda: now[0]))
    text = generate_latest(registry).decode()
    # 94.0 % -> 0.94, 122.5 % -> 1.225, 104.9 % -> 1.049, no forecast -> 0
    assert (
        'omnimeter_tenant_commitment_used_ratio{meter="whatsapp.template.marketing",tenant="tenant-001"} 0.94' in text
    )
    assert (
        'omnimeter_tenant_commitment_forecast_ratio{meter="whatsapp.template.marketing",tenant="tenant-001"} 1.225'
        in text
    )
    assert 'omnimeter_tenant_credit_used_ratio{tenant="tenant-001"} 1.049' in text
    assert 'omnimeter_tenant_credit_forecast_ratio{tenant="tenant-001"} 0.0' in text
    assert len(calls) == 1  # registering described the names only; the first scrape computed once
    now[0] = 30.0
    generate_latest(registry)
    assert len(calls) == 1  # inside the TTL: the last values
    now[0] = 61.0
    generate_latest(registry)
    assert len(calls) == 2


def test_a_failing_source_keeps_the_last_values_and_metrics_still_answer() -> None:
    state = {"fail": False}
    now = [0.0]

    def source() -> dict[str, list[dict[str, Any]]]:
        if state["fail"]:
            raise RuntimeError("store away")
        return {"tenant-002": [_w("credit", "50.0", "80.0")]}

    registry = CollectorRegistry()
    registry.register(TenantCycleCollector(source, ttl_s=1, clock=lambda: now[0]))
    assert 'omnimeter_tenant_credit_used_ratio{tenant="tenant-002"} 0.5' in generate_latest(registry).decode()
    state["fail"], now[0] = True, 5.0
    assert 'omnimeter_tenant_credit_used_ratio{tenant="tenant-002"} 0.5' in generate_latest(registry).decode()
