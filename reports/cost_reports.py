"""Cost centers: usage and cost per billing unit, and the split of a shared bill (e.g. a carrier invoice)
across billing units, teams, queues or bots by their share of a meter.

Attribution to billing units: a line on an account (number) belongs to that account's unit; otherwise a
line of a user is split across the user's units (equal shares unless weights are given); anything else
is unassigned. A line without a team counts for its user's team.
Amounts per unit are allocated by largest remainder, so they add up to the total exactly.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from omnimeter.pricing.allocation import allocate, split_member
from omnimeter.pricing.commitments import percent
from omnimeter.pricing.money import round_money
from omnimeter.reports.adjustments import adjustments
from omnimeter.reports.model import Context, cost, cost_currency, money, qty
from omnimeter.reports.query import Agg, fetch
from omnimeter.reports.section import Section
from omnimeter.reports.shapes import section
from omnimeter.reports.unit_members import members, trend
from omnimeter.schemas.directory import Directory
from omnimeter.sinks.clickhouse import ClickHouseStore

ZERO = Decimal(0)
UNASSIGNED = "(unassigned)"
ADJUSTMENT = "(cycle adjustment)"  # charge models on the cycle's quantity less the lines (reports/adjustments.py)
CENTERS = ("billing_unit", "team", "queue", "bot_id")
_DIMS = ("tenant_id", "billing_unit", "user_id", "team", "queue", "bot_id", "meter", "reseller_id",
         "currency_platform", "currency_reseller")  # fmt: skip


def unit_shares(directory: Directory, a: Agg) -> dict[str, Decimal]:
    """How one aggregate divides across billing units (shares sum to 1)."""
    if a["billing_unit"]:
        return {a["billing_unit"]: Decimal(1)}
    user = directory.user(a["tenant_id"], a["user_id"]) if a["user_id"] else None
    if user is not None and user.billing_units:
        return split_member(user.weights, list(user.billing_units))
    return {UNASSIGNED: Decimal(1)}


def center(directory: Directory, a: Agg, by: str) -> str:
    """The team, queue or bot a line is attributed to; a line without a team takes its user's team."""
    if a[by]:
        return str(a[by])
    if by == "team" and a["user_id"]:
        user = directory.user(a["tenant_id"], a["user_id"])
        if user is not None and user.team:
            return user.team
    return UNASSIGNED


def billing_units(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    """Each invoice line (tenant, meter, currency: rounded once, reports/usage_reports.py `invoice_lines`) is
    split across the units by largest remainder in proportion to their exact shares; a unit's cost is the
    sum of its meters' parts. So a unit's meters add up to its cost, a tenant's units to its invoice lines,
    and the totals equal the services report's and the lines report's to the cent."""
    rows = fetch(store, ctx.tenants, ctx.period, _DIMS, by_day=True, reseller=ctx.only_reseller)
    daily: dict[tuple[str, str, date], dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    shares: dict[tuple[str, str, str], dict[str, list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [ZERO, ZERO])
    )  # (tenant, meter, cur) -> unit -> exact quantity and cost
    for a in rows:
        cur = cost_currency(a)
        for unit, share in unit_shares(ctx.directory, a).items():
            if a.day is not None:
                daily[(a["tenant_id"], cur, a.day)][unit] += cost(a) * share
            acc = shares[(a["tenant_id"], a["meter"], cur)][unit]
            acc[0] += a.quantity * share
            acc[1] += cost(a) * share
    per_meter: dict[tuple[str, str, str, str], list[Decimal]] = {}  # (tenant, unit, meter, cur) -> q, cost
    for (tenant, meter, cur), parts in shares.items():
        line = round_money(sum((c for _q, c in parts.values()), ZERO), cur)
        keys = sorted(parts)  # by id: ties go to the earlier unit
        split = allocate(line, {u: max(parts[u][1], ZERO) for u in keys}, cur)
        for u in keys:
            per_meter[(tenant, u, meter, cur)] = [parts[u][0], split[u]]
    for adj in adjustments(store, ctx.books, ctx.tenants, ctx.period, reseller=ctx.only_reseller):
        if adj.cost:  # a cycle charge is the tenant's, not a unit's: shown as its own line
            acc = per_meter.setdefault((adj.tenant_id, ADJUSTMENT, adj.meter, adj.cost_currency), [ZERO, ZERO])
            acc[1] += adj.cost
    names = {(b.tenant, b.id): b.name for b in ctx.directory.billing_units}
    meters = [
        (tenant, unit, meter, qty(q.quantize(Decimal("0.000001"))), money(c, cur), cur)
        for (tenant, unit, meter, cur), (q, c) in sorted(per_meter.items())
    ]
    units: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    for tenant, unit, _meter, _q, c, cur in meters:
        units[(tenant, cur, unit)] += c
    order = sorted(units, key=lambda k: (k[:2], k[2] == ADJUSTMENT, k[2]))  # a tenant's adjustment last
    by_unit = [
        (t, u, names.get((t, u), ""), units[(t, c, u)], c) for t, c, u in order if u != ADJUSTMENT or units[(t, c, u)]
    ]
    return [
        section("billing-units", "by_unit", by_unit),
        section("billing-units", "by_unit_meter", meters),
        section("billing-units", "members", members(ctx.directory, ctx.tenants)),
        section("billing-units", "trend", trend(daily, ctx.request.group_by)),
    ], rows


def allocation(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    req = ctx.request
    if req.amount is None or req.amount < 0:
        raise ValueError("amount: give the amount to split (e.g. --amount 1200), not negative")
    by = req.by or "billing_unit"
    if by not in CENTERS:
        raise ValueError(f"by: expected one of {', '.join(CENTERS)}, got {by!r}")
    if len(ctx.tenants) != 1:
        raise ValueError("tenant: an allocation splits one tenant's bill; give --tenant")
    tenant = ctx.tenants[0]
    meter = req.meter or "whatsapp.template."
    rows = [
        a
        for a in fetch(store, ctx.tenants, ctx.period, _DIMS, reseller=ctx.only_reseller)
        if a["meter"].startswith(meter)
    ]
    usage: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for a in rows:
        shares = unit_shares(ctx.directory, a) if by == "billing_unit" else {center(ctx.directory, a, by): Decimal(1)}
        for c, share in shares.items():
            usage[c] += a.quantity * share
    unattributed = usage.pop(UNASSIGNED, ZERO)
    currency = req.currency or tenant.currency
    if not usage:
        raise ValueError(f"meter: no usage of {meter!r} attributed to any {by} in this period")
    parts = allocate(req.amount, {c: usage[c] for c in sorted(usage)}, currency)
    total = sum(usage.values(), ZERO)
    return [
        section(
            "allocation",
            "allocation",
            [
                (c, qty(usage[c].quantize(Decimal("0.000001"))), percent(usage[c], total), parts[c], currency)
                for c in sorted(usage)
            ],
        ),
        section(
            "allocation", "basis", [(by, meter, money(req.amount, currency), currency, qty(total), qty(unattributed))]
        ),
    ], rows
