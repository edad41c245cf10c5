"""Who sees what (reports/scope.py): each row of the table, and the roles inside a scope."""

from __future__ import annotations

import time

import pytest

from omnimeter.reports.catalog import REPORTS, check_size
from omnimeter.reports.period import GroupBy, PeriodError, resolve
from omnimeter.reports.scope import Role, Scope
from omnimeter.schemas.directory import parse_directory

DIRECTORY = parse_directory(
    """
version: s-1
resellers: [{id: r1, name: R1, currency: USD}, {id: r2, name: R2, currency: USD}]
tenants:
- {id: direct, name: Direct, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: monthly}
- {id: sub1, name: Of r1, reseller: r1, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: monthly}
- {id: sub2, name: Of r2, reseller: r2, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: monthly}
""",
    "scope-test.yaml",
)
T = {t.id: t for t in DIRECTORY.tenants}


def test_price_to_platform_is_seen_by_the_platform_the_tenants_reseller_and_a_direct_tenant_only() -> None:
    seen = {
        str(s): {t for t in T if s.sees_price_to_platform(T[t])}
        for s in map(Scope.parse, ["platform", "reseller:r1", "tenant:direct", "tenant:sub1"])
    }
    assert seen == {
        "platform": {"direct", "sub1", "sub2"},
        "reseller:r1": {"sub1"},
        "tenant:direct": {"direct"},
        "tenant:sub1": set(),  # never the reseller's cost
    }
    assert Scope.parse("reseller:r1").sees_both_prices(T["sub1"])
    assert not Scope.parse("reseller:r1").sees_both_prices(T["sub2"])
    assert not Scope.parse("tenant:sub1").sees_both_prices(T["sub1"])


def test_tenants_never_read_the_resellers_report_and_unit_roles_read_unit_reports_only() -> None:
    for text in ("tenant:direct", "tenant:sub1"):
        assert {r for r in REPORTS if not Scope.parse(text).may_read(r)} == {"resellers", "margin"}
    # cost and the platform's margin are the platform's alone
    assert {r for r in REPORTS if not Scope.parse("reseller:r1").may_read(r)} == {"margin"}
    units = Scope.parse("platform").with_role(Role.BILLING_UNITS_VIEWER)
    assert {r for r in REPORTS if units.may_read(r)} == {"billing-units", "allocation"}
    assert all(Scope.parse("platform").with_role(Role.BILLING_VIEWER).may_read(r) for r in REPORTS)
    assert units == Scope.parse("platform")  # a role narrows reports, it is not another scope


def test_a_thousand_year_report_is_refused_before_any_query() -> None:
    started = time.monotonic()
    with pytest.raises(PeriodError, match="period: at most 1830 days"):
        check_size(resolve("custom", "1971-01-01", "2149-01-01", "UTC"), GroupBy.DAY)  # 178 years
    with pytest.raises(PeriodError, match="group_by: 731 day buckets"):
        check_size(resolve("custom", "2024-01-01", "2025-12-31", "UTC"), GroupBy.DAY)
    check_size(resolve("custom", "2024-01-01", "2025-12-31", "UTC"), GroupBy.WEEK)  # 105 weeks: fine
    check_size(resolve("custom", "2024-01-01", "2025-12-31", "UTC"), None)  # not a bucketed report
    assert time.monotonic() - started < 1.0


OUT_OF_RANGE = [
    ("0001-01-01", "0001-01-31", "UTC"),
    ("9999-12-01", "9999-12-31", "Asia/Tokyo"),
    ("1969-12-31", "1970-01-05", "UTC"),
]


@pytest.mark.parametrize(("start", "end", "tz"), OUT_OF_RANGE)
def test_dates_outside_the_stores_range_are_a_clear_400(start: str, end: str, tz: str) -> None:
    with pytest.raises(PeriodError, match=r"(from|to): dates from 1970-01-02 to 2149-06-05, got"):
        resolve("custom", start, end, tz)
