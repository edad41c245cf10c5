"""Billing units' members and cost trend (the contact-center seed's Billing units tab).

Members come from the directory: a number (account) belongs to exactly one unit; a user may be in several,
their usage split across them by weight (equal shares without weights: `share_percent`); a team, queue or
bot may name one unit. The trend is the cost per unit per bucket (`group_by`) of the period: each bucket's
cost split across units by largest remainder as in `by_unit`, so a bucket's units add up to its cost
exactly. Cycle adjustments are the tenant's, not a unit's: they are not in the trend.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from omnimeter.pricing.allocation import allocate, split_member
from omnimeter.pricing.commitments import percent
from omnimeter.reports.period import GroupBy, bucket_start
from omnimeter.schemas.directory import Directory, Tenant

ZERO = Decimal(0)
RULES = {
    "number": "a number belongs to exactly one billing unit",
    "user": "a user may be in several billing units; their usage splits by weight",
    "team": "a team names one billing unit",
    "queue": "a queue names one billing unit",
    "bot": "a bot names one billing unit",
}


def members(directory: Directory, tenants: Sequence[Tenant]) -> list[tuple[object, ...]]:
    ids = {t.id for t in tenants}
    names = {(b.tenant, b.id): b.name for b in directory.billing_units}
    out: list[tuple[object, ...]] = []
    for a in directory.accounts:
        if a.tenant in ids and a.billing_unit:
            out.append((a.tenant, a.billing_unit, names.get((a.tenant, a.billing_unit), ""), "number", a.id,
                        a.channel, percent(Decimal(1), Decimal(1)), RULES["number"]))  # fmt: skip
    for u in directory.users:
        if u.tenant in ids and u.billing_units:
            shares = split_member(u.weights, list(u.billing_units))
            for unit in u.billing_units:
                out.append((u.tenant, unit, names.get((u.tenant, unit), ""), "user", u.id, u.name,
                            percent(shares[unit], Decimal(1)), RULES["user"]))  # fmt: skip
    for kind, items in (("team", directory.teams), ("queue", directory.queues), ("bot", directory.bots)):
        for n in items:
            if n.tenant in ids and n.billing_unit:
                out.append((n.tenant, n.billing_unit, names.get((n.tenant, n.billing_unit), ""), kind, n.id,
                            n.name, percent(Decimal(1), Decimal(1)), RULES[kind]))  # fmt: skip
    order = {k: i for i, k in enumerate(RULES)}
    return sorted(out, key=lambda r: (str(r[0]), str(r[1]), order[str(r[3])], str(r[4])))


def trend(parts: dict[tuple[str, str, date], dict[str, Decimal]], group_by: GroupBy) -> list[tuple[object, ...]]:
    """`parts`: exact cost per (tenant, currency, day) and unit -> rows (tenant, unit, bucket, cost, currency)."""
    buckets: dict[tuple[str, str, date], dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for (tenant, cur, day), units in parts.items():
        for unit, amount in units.items():
            buckets[(tenant, cur, bucket_start(day, group_by))][unit] += amount
    out: list[tuple[object, ...]] = []
    for (tenant, cur, bucket), units in sorted(buckets.items()):
        total = sum(units.values(), ZERO)
        split = allocate(total, {u: max(units[u], ZERO) for u in sorted(units)}, cur) if total else {}
        out += [(tenant, u, bucket, split.get(u, ZERO), cur) for u in sorted(units)]
    return sorted(out, key=lambda r: (str(r[0]), str(r[1]), str(r[2])))
