"""Reports of consumption: users by role, services, usage over time, WhatsApp in/out."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from omnimeter.pricing.commitments import percent
from omnimeter.reports.adjustments import Adjustment, adjustments
from omnimeter.reports.model import Context, cost, cost_currency, money, qty
from omnimeter.reports.period import GroupBy, Period, bucket_start
from omnimeter.reports.query import Agg, fetch
from omnimeter.reports.section import Section
from omnimeter.reports.services import SERVICES, service_of
from omnimeter.reports.shapes import section
from omnimeter.sinks.clickhouse import ClickHouseStore

ZERO = Decimal(0)
_PARTY = ("reseller_id", "currency_platform", "currency_reseller")


def users(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    rows = fetch(
        store, ctx.tenants, ctx.period, ("tenant_id", "user_id", "channel", *_PARTY), reseller=ctx.only_reseller
    )
    per_user: dict[tuple[str, str], list[Agg]] = defaultdict(list)
    for r in rows:
        if r["user_id"]:
            per_user[(r["tenant_id"], r["user_id"])].append(r)
    in_scope = {t.id for t in ctx.tenants}
    people = [u for u in ctx.directory.users if u.tenant in in_scope]
    listed = {(u.tenant, u.id) for u in people}
    table, channels = [], []
    by_role: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for u in people:
        mine = per_user.get((u.tenant, u.id), [])
        by_role[u.role][0] += 1
        by_role[u.role][1] += 1 if mine else 0
        table.append(_user_row(u.tenant, u.id, u.name, u.email, u.role, u.channels, mine))
    for (tenant, user_id), mine in sorted(per_user.items()):
        if (tenant, user_id) not in listed:  # usage by a user the directory does not (yet) list
            table.append(_user_row(tenant, user_id, "", "", "(not in directory)", (), mine))
    for (tenant, user_id), mine in sorted(per_user.items()):
        per_channel: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for r in mine:
            acc = per_channel[(r["channel"] or "(none)", cost_currency(r))]
            acc[0] += r.lines
            acc[1] += cost(r)
        for (channel, cur), (n, c) in sorted(per_channel.items()):
            channels.append((tenant, user_id, channel, int(n), money(c, cur), cur))
    roles = [(role, n, active) for role, (n, active) in sorted(by_role.items())]
    return [
        section("users", "users_by_role", roles),
        section("users", "users", sorted(table, key=lambda r: (r[0], r[4], r[1]))),
        section("users", "user_channels", channels),
    ], rows


def _user_row(
    tenant: str, user_id: str, name: str, email: str, role: str, assigned: tuple[str, ...], mine: list[Agg]
) -> tuple[object, ...]:
    cur = cost_currency(mine[0]) if mine else ""
    last = max((r.newest_event for r in mine if r.newest_event), default=None)
    total = sum((cost(r) for r in mine), ZERO)
    return (
        tenant, user_id, name, email, role, len(assigned), ",".join(assigned), sum(r.lines for r in mine), last,
        money(total, cur or "USD"), cur,
    )  # fmt: skip


def invoice_lines(rows: list[Agg]) -> dict[tuple[str, str, str], list[Decimal]]:
    """Quantity and amount per (tenant, meter, currency paid): the amount summed at line precision and
    rounded once to minor units, as an invoice line is (DESIGN 4). Every total of a report is a sum of these
    rounded amounts, so a service, a meter, a section's totals row and the lines behind them agree to the cent."""
    exact: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for r in rows:
        acc = exact[(r["tenant_id"], r["meter"], cost_currency(r))]
        acc[0] += r.quantity
        acc[1] += cost(r)
    return {k: [q, money(c, k[2])] for k, (q, c) in exact.items()}


def _by_service(rows: list[Agg]) -> dict[tuple[str, str, str], list[Decimal]]:
    out: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for (_tenant, meter, cur), (q, c) in invoice_lines(rows).items():
        s = service_of(meter)
        if s is not None:
            acc = out[(s.name, meter, cur)]
            acc[0] += q
            acc[1] += c
    return out


def services(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    """Lines of the period, plus the adjustments of the cycles closing in it (reports/adjustments.py).
    A meter's lines cost is the sum of its tenants' invoice lines (`invoice_lines`), a service's the sum of
    its meters' rows: the sections add up to the same total."""
    rows = fetch(store, ctx.tenants, ctx.period, ("tenant_id", "meter", *_PARTY), reseller=ctx.only_reseller)
    meters = _by_service(rows)
    adjs = [a for a in adjustments(store, ctx.books, ctx.tenants, ctx.period, reseller=ctx.only_reseller) if a.cost]
    adjusted = _adjustments_by_meter(adjs)
    for key in adjusted:
        meters.setdefault(key, [ZERO, ZERO])
    order = {s.name: i for i, s in enumerate(SERVICES)}
    unit = {s.name: s.unit for s in SERVICES}
    by_meter = []
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for (svc, meter, cur), (q, lines) in sorted(meters.items(), key=lambda kv: (order[kv[0][0]], kv[0][1:])):
        adj = money(adjusted.get((svc, meter, cur), ZERO), cur)
        by_meter.append((svc, meter, unit[svc], qty(q), lines, adj, lines + adj, cur))
        acc = totals[(svc, cur)]
        acc[0], acc[1], acc[2] = acc[0] + q, acc[1] + lines, acc[2] + adj
    by_service = [
        (svc, unit[svc], qty(q), lines, adj, lines + adj, cur)
        for (svc, cur), (q, lines, adj) in sorted(totals.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    ]
    return [
        section("services", "by_service", by_service),
        section("services", "by_meter", by_meter),
        section(
            "services", "adjustments", [(a.tenant_id, a.cycle_start, a.meter, a.cost, a.cost_currency) for a in adjs]
        ),
    ], rows


def _adjustments_by_meter(adjs: list[Adjustment]) -> dict[tuple[str, str, str], Decimal]:
    out: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    for a in adjs:
        s = service_of(a.meter)
        if s is not None and a.cost:
            out[(s.name, a.meter, a.cost_currency)] += a.cost
    return out


def _days(p: Period) -> list[date]:
    return [p.first + timedelta(days=i) for i in range((p.last - p.first).days + 1)]


def _buckets(p: Period, g: GroupBy) -> list[date]:
    return sorted({bucket_start(d, g) for d in _days(p)})


def _series(rows: list[Agg], g: GroupBy) -> dict[tuple[str, str, date], list[Decimal]]:
    out: dict[tuple[str, str, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])  # q, lines, adj
    for r in rows:
        s = service_of(r["meter"])
        if s is not None and r.day is not None:
            acc = out[(s.name, cost_currency(r), bucket_start(r.day, g))]
            acc[0] += r.quantity
            acc[1] += cost(r)
    return out


def usage(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    g = ctx.request.group_by
    prev = ctx.period.previous()
    now_rows = fetch(store, ctx.tenants, ctx.period, ("meter", *_PARTY), by_day=True, reseller=ctx.only_reseller)
    prev_rows = fetch(store, ctx.tenants, prev, ("meter", *_PARTY), by_day=True, reseller=ctx.only_reseller)
    cur, old = _series(now_rows, g), _series(prev_rows, g)
    _add_adjustments(cur, adjustments(store, ctx.books, ctx.tenants, ctx.period, reseller=ctx.only_reseller), g)
    _add_adjustments(old, adjustments(store, ctx.books, ctx.tenants, prev, reseller=ctx.only_reseller), g)
    b_now, b_prev = _buckets(ctx.period, g), _buckets(prev, g)
    pairs = previous_pairs(b_now, b_prev)
    out = []
    keys = sorted({(s, c) for s, c, _ in cur} | {(s, c) for s, c, _ in old})
    for s in SERVICES:
        for svc, currency in keys:
            if svc != s.name:
                continue
            for b, pbs in pairs:
                q, c, adj = cur.get((svc, currency, b), [ZERO, ZERO, ZERO])
                pq, pc, padj = ZERO, ZERO, ZERO
                for pb in pbs:
                    oq, oc, oadj = old.get((svc, currency, pb), [ZERO, ZERO, ZERO])
                    pq, pc, padj = pq + oq, pc + oc, padj + oadj
                pb = pbs[0] if pbs else None
                c, pc = money(c, currency) + adj, money(pc, currency) + padj
                change = percent(c - pc, pc) if pc else None
                out.append((svc, s.unit, b, qty(q), c, money(adj, currency), pb, qty(pq), pc, change, currency))
    return [section("usage", "usage", out)], now_rows


def previous_pairs(now: list[date], prev: list[date]) -> list[tuple[date, list[date]]]:
    """Bucket i of this period beside bucket i of the previous one; a longer previous period (31 days
    before 30) brings its extra buckets into the last pair, so the previous period's total is whole."""
    pairs = [(b, [prev[i]] if i < len(prev) else []) for i, b in enumerate(now)]
    if pairs and len(prev) > len(now):
        pairs[-1][1].extend(prev[len(now) :])
    return pairs


def _add_adjustments(series: dict[tuple[str, str, date], list[Decimal]], adjs: list[Adjustment], g: GroupBy) -> None:
    """An adjustment counts in the bucket of its cycle's last day (reports/adjustments.py)."""
    for a in adjs:
        s = service_of(a.meter)
        if s is None or not a.cost:
            continue
        series.setdefault((s.name, a.cost_currency, bucket_start(a.last_day, g)), [ZERO, ZERO, ZERO])[2] += a.cost


def whatsapp(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    g = ctx.request.group_by
    rows = fetch(
        store, ctx.tenants, ctx.period, ("account", "meter", "free_reason", *_PARTY), by_day=True,
        meter_prefix="whatsapp.", reseller=ctx.only_reseller,
    )  # fmt: skip
    counts: dict[tuple[str, date], dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    free: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    categories: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for r in rows:
        assert r.day is not None
        c = counts[(r["account"], bucket_start(r.day, g))]
        meter = r["meter"]
        if meter == "whatsapp.inbound.messages":
            c["inbound"] += r.quantity
        elif meter.startswith("whatsapp.outbound."):
            c[meter.rsplit(".", 1)[1]] += r.quantity
        elif meter.startswith("whatsapp.template.") or meter == "whatsapp.service.messages":
            cur = cost_currency(r)
            service = meter == "whatsapp.service.messages"  # by category, not among the templates
            cat = categories[(r["account"], "service" if service else meter.removeprefix("whatsapp.template."), cur)]
            if r["free_reason"]:
                c["free"] += 0 if service else r.quantity
                cat[1] += r.quantity
                free[(r["account"], r["free_reason"])] += r.quantity
            else:
                c["charged"] += 0 if service else r.quantity
                cat[0] += r.quantity
            cat[2] += cost(r)
    messages = [
        (
            acct,
            b,
            qty(c["inbound"]),
            qty(c["sent"]),
            qty(c["delivered"]),
            qty(c["failed"]),
            qty(c["charged"]),
            qty(c["free"]),
        )
        for (acct, b), c in sorted(counts.items())
    ]
    return [
        section("whatsapp", "messages", messages),
        section(
            "whatsapp",
            "templates",
            [
                (a, cat, qty(ch), qty(fr), money(c, cur), cur)
                for (a, cat, cur), (ch, fr, c) in sorted(categories.items())
            ],
        ),
        section("whatsapp", "free_by_reason", [(a, reason, qty(n)) for (a, reason), n in sorted(free.items())]),
    ], rows
