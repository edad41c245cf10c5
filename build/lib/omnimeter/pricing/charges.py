"""Charge models: what a quantity costs under one price. Pure Decimal arithmetic.

Tier bounds: `up_to` is the inclusive upper bound of a tier's quantity; `None` means open-ended (the last
tier). Tiers apply to the quantity accumulated in the billing cycle, so the amount of one line is the
marginal amount `total(before + q) - total(before)`; summing a cycle's lines gives `total(cycle quantity)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class ChargeModel(StrEnum):
    PER_UNIT = "per_unit"
    GRADUATED = "graduated"  # each unit priced by the tier it falls in; a tier's flat fee once entered
    VOLUME = "volume"  # every unit priced by the tier the cycle total falls in; that tier's flat fee
    PACKAGE = "package"  # blocks of `size` units at `price` each, partial blocks rounded up or down
    PERCENTAGE = "percentage"  # quantity is money (e.g. carrier cost); amount = quantity * percent / 100


@dataclass(frozen=True, slots=True)
class Tier:
    up_to: Decimal | None  # inclusive upper bound; None: open-ended
    unit: Decimal = Decimal(0)
    flat: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Charge:
    model: ChargeModel
    unit: Decimal = Decimal(0)  # per_unit rate (a rate deck picks it before this is built)
    tiers: tuple[Tier, ...] = ()
    package_size: Decimal = Decimal(1)
    package_price: Decimal = Decimal(0)
    package_round_up: bool = True
    percent: Decimal = Decimal(0)

    def total(self, quantity: Decimal) -> Decimal:
        """The amount for a cycle quantity (before minimums and rounding). Never negative for q >= 0."""
        if quantity < 0:
            raise ValueError(f"negative quantity {quantity}")
        match self.model:
            case ChargeModel.PER_UNIT:
                return quantity * self.unit
            case ChargeModel.GRADUATED:
                return _graduated(self.tiers, quantity)
            case ChargeModel.VOLUME:
                return _volume(self.tiers, quantity)
            case ChargeModel.PACKAGE:
                blocks = quantity / self.package_size
                whole = int(blocks) if blocks == int(blocks) or not self.package_round_up else int(blocks) + 1
                return whole * self.package_price
            case ChargeModel.PERCENTAGE:
                return quantity * self.percent / 100
        raise AssertionError(self.model)

    def marginal(self, before: Decimal, quantity: Decimal) -> Decimal:
        """The amount of `quantity` more units when `before` units were already used in the cycle.

        Exact for per-unit, percentage, graduated and package: the lines of a cycle add up to
        `total(cycle quantity)`. Volume pricing is retroactive (crossing into a cheaper tier reprices the
        whole cycle), so its lines are priced at the tier the running total is in and never go negative;
        the cycle's charge is `total()`, and reports show the difference as a volume adjustment."""
        if self.model is ChargeModel.PER_UNIT:
            return quantity * self.unit
        if self.model is ChargeModel.PERCENTAGE:
            return quantity * self.percent / 100
        if self.model is ChargeModel.VOLUME:
            after = before + quantity
            tier = next((t for t in self.tiers if t.up_to is None or after <= t.up_to), self.tiers[-1])
            entered = (
                before == 0
                or next((t for t in self.tiers if t.up_to is None or before <= t.up_to), self.tiers[-1]) is not tier
            )
            return quantity * tier.unit + (tier.flat if entered and quantity > 0 else Decimal(0))
        return self.total(before + quantity) - self.total(before)


def _graduated(tiers: tuple[Tier, ...], quantity: Decimal) -> Decimal:
    amount, lower = Decimal(0), Decimal(0)
    for tier in tiers:
        if quantity <= lower:
            break
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        amount += tier.flat + (upper - lower) * tier.unit
        if tier.up_to is None or quantity <= tier.up_to:
            break
        lower = tier.up_to
    return amount


def _volume(tiers: tuple[Tier, ...], quantity: Decimal) -> Decimal:
    if quantity == 0:
        return Decimal(0)
    for tier in tiers:
        if tier.up_to is None or quantity <= tier.up_to:
            return tier.flat + quantity * tier.unit
    last = tiers[-1]
    return last.flat + quantity * last.unit
