"""Reports of consumption: users by role, services, usage over time, WhatsApp in/out."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from omnimeter.pricing.commitments import percent
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
    rows = fetch(store, ctx.tenants, ctx.period, ("tenant_id", "user_id", "channel", *_PARTY))
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


def _by_service(rows: list[Agg]) -> dict[tuple[str, str, str], list[Decimal]]:
    out: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for r in rows:
        s = service_of(r["meter"])
        if s is not None:
            acc = out[(s.name, r["meter"], cost_currency(r))]
            acc[0] += r.quantity
            acc[1] += cost(r)
    return out


def services(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    rows = fetch(store, ctx.tenants, ctx.period, ("meter", *_PARTY))
    meters = _by_service(rows)
    order = {s.name: i for i, s in enumerate(SERVICES)}
    unit = {s.name: s.unit for s in SERVICES}
    by_meter = [
        (svc, meter, unit[svc], qty(q), money(c, cur), cur)
        for (svc, meter, cur), (q, c) in sorted(meters.items(), key=lambda kv: (order[kv[0][0]], kv[0][1:]))
    ]
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for (svc, _m, cur), (q, c) in meters.items():
        totals[(svc, cur)][0] += q
        totals[(svc, cur)][1] += c
    by_service = [
        (svc, unit[svc], qty(q), money(c, cur), cur)
        for (svc, cur), (q, c) in sorted(totals.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    ]
    return [
        section("services", "by_service", by_service),
        section("services", "by_meter", by_meter),
    ], rows


def _days(p: Period) -> list[date]:
    return [p.first + timedelta(days=i) for i in range((p.last - p.first).days + 1)]


def _buckets(p: Period, g: GroupBy) -> list[date]:
    return sorted({bucket_start(d, g) for d in _days(p)})


def _series(rows: list[Agg], g: GroupBy) -> dict[tuple[str, str, date], list[Decimal]]:
    out: dict[tuple[str, str, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
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
    now_rows = fetch(store, ctx.tenants, ctx.period, ("meter", *_PARTY), by_day=True)
    prev_rows = fetch(store, ctx.tenants, prev, ("meter", *_PARTY), by_day=True)
    cur, old = _series(now_rows, g), _series(prev_rows, g)
    b_now, b_prev = _buckets(ctx.period, g), _buckets(prev, g)
    pairs = list(zip(b_now, b_prev + [None] * (len(b_now) - len(b_prev)), strict=False))
    out = []
    keys = sorted({(s, c) for s, c, _ in cur} | {(s, c) for s, c, _ in old})
    for s in SERVICES:
        for svc, currency in keys:
            if svc != s.name:
                continue
            for b, pb in pairs:
                q, c = cur.get((svc, currency, b), [ZERO, ZERO])
                pq, pc = old.get((svc, currency, pb), [ZERO, ZERO]) if pb else [ZERO, ZERO]
                change = percent(c - pc, pc) if pc else None
                out.append(
                    (svc, s.unit, b, qty(q), money(c, currency), pb, qty(pq), money(pc, currency), change, currency)
                )
    return [section("usage", "usage", out)], now_rows


def whatsapp(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    g = ctx.request.group_by
    rows = fetch(
        store, ctx.tenants, ctx.period, ("account", "meter", "free_reason", *_PARTY), by_day=True,
        meter_prefix="whatsapp.",
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
