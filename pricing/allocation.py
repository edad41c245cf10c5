"""Cost allocation: split an amount across cost centers in proportion to usage, by largest remainder in
the currency's minor units, so the parts always add up to the total exactly.

The convention is moneyphp's `Money::allocate` (and RubyMoney's): each party first gets the floor of its
exact share; the minor units left over go one each to the parties with the largest fractional parts,
and on a tie to the party given *earlier*. So the caller's order matters, as it does there; callers pass
parties in a stable order (the reports sort them by id)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from omnimeter.pricing.money import from_minor, to_minor


def allocate(total: Decimal, weights: Mapping[str, Decimal], currency: str) -> dict[str, Decimal]:
    """Split `total` over the keys of `weights` (usage quantities, >= 0), in the order given; ties in
    the remainder go to the earlier key. With no usage at all the total is split evenly."""
    if not weights:
        raise ValueError("allocation needs at least one cost center")
    if any(w < 0 for w in weights.values()):
        raise ValueError("allocation weights must not be negative")
    units = to_minor(total, currency)
    keys = list(weights)
    w = {k: Decimal(weights[k]) for k in keys}
    wsum = sum(w.values())
    if wsum == 0:
        w, wsum = {k: Decimal(1) for k in keys}, Decimal(len(keys))
    sign = -1 if units < 0 else 1
    units = abs(units)
    exact = {k: units * w[k] / wsum for k in keys}
    floors = {k: int(exact[k]) for k in keys}
    left = units - sum(floors.values())
    position = {k: i for i, k in enumerate(keys)}
    order = sorted(keys, key=lambda k: (-(exact[k] - floors[k]), position[k]))
    for k in order[:left]:
        floors[k] += 1
    return {k: sign * from_minor(floors[k], currency) for k in keys}


def split_member(weights: Mapping[str, Decimal] | None, members: list[str]) -> dict[str, Decimal]:
    """Shares of one user across the billing units they belong to: equal unless weights are given.
    Shares are exact fractions (they sum to 1); amounts are allocated with `allocate`."""
    if not members:
        return {}
    if weights:
        total = sum(Decimal(weights.get(m, 0)) for m in members)
        if total > 0:
            return {m: Decimal(weights.get(m, 0)) / total for m in members}
    return {m: Decimal(1) / len(members) for m in members}
