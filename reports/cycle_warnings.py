"""Warnings of a billing cycle: commitments and carrier credit against their thresholds, and a run-rate
forecast to the cycle's end. Pure (no store): the cycle report gives it what it measured.

Levels: `warning` (amber) from `WARN_PERCENT` (80 %) used, `exceeded` (red) from `LIMIT_PERCENT` (100 %);
the same thresholds are the Prometheus alerts of deploy/prometheus/rules.yml (omnimeter_tenant_*_used_ratio).
Forecast: what was used so far times the cycle's length over the time elapsed (linear run rate), for the
running cycle only; a closed cycle's forecast is what it used. Overage cost: for a commitment, the part of
the meter's estimated cycle charge for the units beyond what is included (pro rata on the charged
quantity); for the carrier credit, what was spent beyond it. Money rounds once, half-up, to minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from omnimeter.pricing.commitments import percent
from omnimeter.pricing.money import round_money

WARN_PERCENT = Decimal(80)
LIMIT_PERCENT = Decimal(100)
ZERO = Decimal(0)
CENT = Decimal("0.01")


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"  # amber
    EXCEEDED = "exceeded"  # red

    @classmethod
    def of(cls, used_percent: Decimal) -> Level:
        if used_percent >= LIMIT_PERCENT:
            return cls.EXCEEDED
        return cls.WARNING if used_percent >= WARN_PERCENT else cls.OK


def forecast(used: Decimal, start: datetime, end: datetime, now: datetime) -> Decimal:
    """The run-rate forecast of `used` at `end`: used * cycle length / time elapsed (0.01 precision);
    `used` itself once the cycle is over or before it started."""
    if now >= end or now <= start:
        return used
    ratio = Decimal((end - start).total_seconds()) / Decimal((now - start).total_seconds())
    return (used * ratio).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Warning:
    kind: str  # "commitment" or "credit"
    meter: str  # the committed meter; "carrier" for the credit
    used: Decimal
    limit: Decimal
    overage: Decimal
    overage_cost: Decimal
    forecast: Decimal
    currency: str
    exact: tuple[Decimal, Decimal] | None = None  # used and forecast before rounding to minor units

    @property
    def used_percent(self) -> Decimal:
        """Of the exact amount (as the commitments and credit sections), not of the rounded one."""
        return percent(self.exact[0] if self.exact else self.used, self.limit)

    @property
    def forecast_percent(self) -> Decimal:
        return percent(self.exact[1] if self.exact else self.forecast, self.limit)

    @property
    def level(self) -> Level:
        return Level.of(self.used_percent)

    @property
    def forecast_level(self) -> Level:
        return Level.of(self.forecast_percent)

    @property
    def message(self) -> str:
        what = f"commitment {self.meter}" if self.kind == "commitment" else "carrier credit"
        unit = f" {self.currency}" if self.kind == "credit" else ""
        text = f"{what}: {self.used_percent} % used ({self.used}{unit} of {self.limit}{unit})"
        if self.level is Level.EXCEEDED:
            text += f"; over by {self.overage}{unit}, overage cost {self.overage_cost} {self.currency}"
        elif self.level is Level.WARNING:
            text += f"; {LIMIT_PERCENT - self.used_percent} % left"
        return text + f"; forecast by the cycle's end {self.forecast}{unit} ({self.forecast_percent} %)"

    def row(self) -> tuple[object, ...]:
        return (self.kind, self.meter, self.used, self.limit, self.used_percent, self.level.value, self.overage,
                self.overage_cost, self.forecast, self.forecast_percent, self.forecast_level.value, self.currency,
                self.message)  # fmt: skip


def commitment_warning(
    meter: str, included: Decimal, used: Decimal, charge: Decimal, currency: str, forecast_used: Decimal
) -> Warning:
    """`charge`: the meter's estimated cycle charge (what the tenant pays) for all `used` units."""
    overage = max(used - included, ZERO)
    cost = round_money(charge * overage / used, currency) if used > 0 else round_money(ZERO, currency)
    return Warning("commitment", meter, used, included, overage, cost, forecast_used, currency)


def credit_warning(credit: Decimal, spent: Decimal, currency: str, forecast_spent: Decimal) -> Warning:
    over = round_money(max(spent - credit, ZERO), currency)
    return Warning("credit", "carrier", round_money(spent, currency), round_money(credit, currency), over, over,
                   round_money(forecast_spent, currency), currency, (spent, forecast_spent))  # fmt: skip
