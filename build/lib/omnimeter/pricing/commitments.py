"""Commitments and prepaid carrier credit, tracked against a billing cycle.

A commitment includes a quantity of a meter per cycle (e.g. 500 marketing conversations); usage beyond it
is overage. A prepaid carrier credit is money that carrier costs (voice, WhatsApp, SMS) draw down.
Percentages are Decimal, rounded half-up to 0.1 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

PCT = Decimal("0.1")


def percent(part: Decimal, whole: Decimal) -> Decimal:
    """part / whole in %, 0.1 % precision; 0 when whole is 0."""
    if whole <= 0:
        return Decimal(0).quantize(PCT)
    return (part * 100 / whole).quantize(PCT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class CommitmentUsage:
    meter: str
    included: Decimal
    used: Decimal

    @property
    def remaining(self) -> Decimal:
        return max(self.included - self.used, Decimal(0))

    @property
    def overage(self) -> Decimal:
        return max(self.used - self.included, Decimal(0))

    @property
    def used_percent(self) -> Decimal:
        return percent(self.used, self.included)


@dataclass(frozen=True, slots=True)
class CreditUsage:
    credit: Decimal
    spent: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.credit - self.spent  # negative: spending beyond the credit

    @property
    def used_percent(self) -> Decimal:
        return percent(self.spent, self.credit)
