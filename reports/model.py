"""What a report is asked (`Request`) and what it answers (`Report`), shared by the CLI and the HTTP API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from omnimeter.pricing.books import PriceBooks
from omnimeter.pricing.money import round_money
from omnimeter.reports.period import GroupBy, Period
from omnimeter.reports.query import Agg
from omnimeter.reports.render import _plain
from omnimeter.reports.scope import Kind, Scope
from omnimeter.reports.section import Section
from omnimeter.schemas.directory import Directory, Tenant

NOTICE = (
    "Estimate: computed from usage metered so far and the current price books; the invoice may differ "
    "slightly (late events, price changes, rounding once per invoice line)."
)


@dataclass(frozen=True)
class Request:
    tenant: str | None = None
    reseller: str | None = None
    period: str | None = None
    start: str | None = None
    end: str | None = None
    group_by: GroupBy = GroupBy.MONTH
    tz: str | None = None
    amount: Decimal | None = None
    by: str | None = None
    meter: str | None = None
    currency: str | None = None
    cycle: str | None = None
    with_expenses: bool = False
    page: int | None = None  # lines: 1-based
    page_size: int | None = None  # lines: 1..reports.lines_report.MAX_PAGE_SIZE
    line: str | None = None  # event: a line id (source/event_id/line_index)
    service: str | None = None  # lines: only the meters of this service (reports/services.py)


@dataclass
class Report:
    name: str
    scope: str
    tenants: list[str]
    period: dict[str, str]
    sections: list[Section]
    newest_event: datetime | None
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "estimate": True,
            "notice": NOTICE,
            "scope": self.scope,
            "tenants": self.tenants,
            "period": self.period,
            "freshness": {
                "newest_event": self.newest_event.isoformat() if self.newest_event else None,
                "generated_at": self.generated_at.isoformat(),
            },
            **{k: _plain(v) for k, v in self.extra.items()},
            "sections": {
                s.title: [dict(zip(s.columns, map(_plain, r), strict=True)) for r in s.rows] for s in self.sections
            },
        }

    def header(self) -> str:
        fresh = self.newest_event.isoformat() if self.newest_event else "no usage in this period"
        p = self.period
        return (
            f"{self.name} · scope {self.scope} · {p.get('from')} .. {p.get('to')} ({p.get('time_zone')})\n"
            f"{NOTICE}\nNewest event included: {fresh} · generated {self.generated_at.isoformat(timespec='seconds')}"
        )


@dataclass(frozen=True)
class Context:
    """What every report builder gets: the store's reference data, the tenants in scope and the period."""

    directory: Directory
    books: PriceBooks
    tenants: Sequence[Tenant]
    period: Period
    request: Request
    scope: Scope

    @property
    def only_reseller(self) -> str | None:
        """A reseller's view reads only the lines rated for it (reports/scope.py)."""
        return self.scope.id if self.scope.kind is Kind.RESELLER else None


def is_retail(agg: Agg) -> bool:
    return bool(agg.key.get("reseller_id"))


def cost(agg: Agg) -> Decimal:
    """What the tenant pays: the reseller's price for a dependent company, else the platform's."""
    return agg.amount_reseller if is_retail(agg) else agg.amount_platform


def cost_currency(agg: Agg) -> str:
    return (agg.key.get("currency_reseller") if is_retail(agg) else agg.key.get("currency_platform")) or "USD"


def money(amount: Decimal, currency: str) -> Decimal:
    """Report amounts: summed at line precision, rounded once to the currency's minor units, half-up."""
    return round_money(amount, currency or "USD")


def qty(q: Decimal) -> Decimal:
    """Quantities without trailing zeros of the 6-decimal storage (12.000000 → 12)."""
    return q.quantize(Decimal(1)) if q == q.to_integral_value() else q.normalize()
