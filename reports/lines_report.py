"""Drill-down: the billable lines behind a total, a page at a time, and the stored event behind a line.

`lines` lists the lines of the tenants in scope over the period, ordered by event time, `page_size`
(1..`MAX_PAGE_SIZE`) per page (`meter`: one meter, or a prefix ending in '.'; `service`: only that service's
meters; `currency`: only lines paid in it); `summary` counts every line of the filter and sums what the
tenant pays per invoice line, so `cost` equals the `lines_cost` of the services report for the same
parameters; the adjustments of the cycles closing in the period (a cycle's, in no line) are `adjustment`,
and `total` is the two, the services report's `cost`. Prices follow reports/scope.py:
`price_platform` is null where the viewer may not see it (a reseller's tenant), `price_reseller` is null
where there is none or the viewer may not see it. `event` gives one line (by `line`, the
`source/event_id/line_index` id of the lines) and its `raw_events` row, only inside the scope: a line of
another tenant answers as one that does not exist.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from omnimeter.reports.adjustments import adjustments
from omnimeter.reports.model import Context, money, qty
from omnimeter.reports.query import Agg
from omnimeter.reports.scope import Kind, NotFound
from omnimeter.reports.section import Section
from omnimeter.reports.services import SERVICES, Service
from omnimeter.reports.shapes import section
from omnimeter.sinks.clickhouse import ClickHouseStore

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
ZERO = Decimal(0)
_COLUMNS = (
    "event_source, event_id, line_index, event_time, tenant_id, reseller_id, meter, quantity, unit, channel, "
    "account, billing_unit, user_id, free_reason, amount_platform, currency_platform, amount_reseller, "
    "currency_reseller, corrects_line_id"
)
_PAYS = "if(reseller_id != '', amount_reseller, amount_platform)"
_PAID_IN = "if(reseller_id != '', currency_reseller, currency_platform)"


def meter_matches(meter: str, wanted: str) -> bool:
    """`wanted`: a meter, or a prefix ending in '.' (`sms.`); nothing: every meter."""
    return not wanted or meter == wanted or (wanted.endswith(".") and meter.startswith(wanted))


def _service(name: str) -> Service:
    found = next((s for s in SERVICES if s.name == name), None)
    if found is None:
        raise ValueError(f"service: unknown service {name!r}; one of {', '.join(s.name for s in SERVICES)}")
    return found


def _wanted(ctx: Context, meter: str, currency: str) -> bool:
    """Whether a cycle adjustment of `meter` falls under the filter of the lines."""
    r = ctx.request
    svc = _service(r.service) if r.service else None
    return (meter_matches(meter, r.meter or "") and (svc is None or svc.has(meter))
            and (not r.currency or currency == r.currency))  # fmt: skip


def _filter(ctx: Context) -> tuple[str, dict[str, Any]]:
    period = ctx.period.as_instants() if ctx.period.whole_days else ctx.period
    assert period.start is not None and period.end is not None
    where = "tenant_id IN %(ts)s AND event_time >= %(t0)s AND event_time < %(t1)s"
    params: dict[str, Any] = {"ts": [t.id for t in ctx.tenants], "t0": period.start.astimezone(UTC),
                              "t1": period.end.astimezone(UTC)}  # fmt: skip
    if ctx.request.meter:
        where += " AND (meter = %(mp)s OR (endsWith(%(mp)s, '.') AND startsWith(meter, %(mp)s)))"
        params["mp"] = ctx.request.meter
    if ctx.request.service:
        svc = _service(ctx.request.service)
        where += " AND (meter IN %(sm)s OR (%(sp)s != '' AND startsWith(meter, %(sp)s)))"
        params["sm"], params["sp"] = list(svc.meters) or [""], svc.prefix
    if ctx.request.currency:
        where += f" AND {_PAID_IN} = %(cur)s"
        params["cur"] = ctx.request.currency
    if ctx.only_reseller is not None:
        where += " AND reseller_id = %(rs)s"
        params["rs"] = ctx.only_reseller
    return where, params


def _row(ctx: Context, r: tuple[Any, ...]) -> tuple[object, ...]:
    source, event_id, index, at, tenant, reseller, meter, quantity, unit, channel, account, unit_id, user, free, \
        ap, cp, ar, cr, corrects = r  # fmt: skip
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    tenant_view = ctx.scope.kind is Kind.TENANT
    # reports/scope.py: the platform sees every price to platform, a direct tenant its own (what it pays)
    sees_platform = (
        ctx.scope.kind is Kind.PLATFORM or ctx.scope.sees_both_prices_of(reseller) or (tenant_view and not reseller)
    )
    sees_reseller = bool(reseller) and (ctx.scope.sees_both_prices_of(reseller) or tenant_view)
    pays, currency = (Decimal(ar), cr) if reseller else (Decimal(ap), cp)
    return (f"{source}/{event_id}/{index}", at, tenant, meter, qty(Decimal(quantity)), unit, channel, account,
            unit_id, user, free, pays, currency,
            Decimal(ap) if sees_platform else None, cp if sees_platform else "",
            Decimal(ar) if sees_reseller else None, cr if sees_reseller else "", corrects)  # fmt: skip


def lines(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    size = ctx.request.page_size or DEFAULT_PAGE_SIZE
    page = ctx.request.page or 1
    where, params = _filter(ctx)
    listed: list[tuple[object, ...]] = []
    count, quantity, paid, adjusted, newest = 0, ZERO, ZERO, ZERO, None
    currencies: set[str] = set()
    if ctx.tenants:
        # one invoice line per (tenant, meter, currency): summed at line precision, rounded once
        # (reports/usage_reports.py invoice_lines), so the total equals the services report's
        for n, q, amount, cur, at in store.query_rows(
            f"SELECT count(), sum(quantity), sum({_PAYS}), {_PAID_IN} AS cur, max(event_time) "
            f"FROM {store.db}.billable_lines WHERE {where} GROUP BY tenant_id, meter, cur",
            params,
        ):
            count, quantity, paid = count + int(n), quantity + Decimal(q), paid + money(Decimal(amount), cur)
            currencies.add(cur)
            newest = at if newest is None or at > newest else newest
        for a in adjustments(store, ctx.books, ctx.tenants, ctx.period, reseller=ctx.only_reseller):
            if a.cost and _wanted(ctx, a.meter, a.cost_currency):
                adjusted += a.cost
                currencies.add(a.cost_currency)
        rows = store.query_rows(
            f"SELECT {_COLUMNS} FROM {store.db}.billable_lines WHERE {where} "
            "ORDER BY event_time, event_source, event_id, line_index LIMIT %(n)s OFFSET %(o)s",
            {**params, "n": size, "o": (page - 1) * size},
        )
        listed = [_row(ctx, r) for r in rows]
    pages = max(-(-int(count) // size), 1)
    if len(currencies) > 1:
        raise ValueError(f"currency: these lines are paid in {', '.join(sorted(currencies))}; choose one currency")
    default = ctx.request.currency or (ctx.tenants[0].currency if ctx.tenants else "USD")
    cur = currencies.pop() if currencies else default
    paid, adjusted = money(paid, cur), money(adjusted, cur)
    summary = (count, qty(quantity), paid, adjusted, paid + adjusted, cur, page, size, pages)
    at = newest.replace(tzinfo=UTC) if isinstance(newest, datetime) and newest.tzinfo is None else newest
    fresh = [Agg({}, None, int(count), ZERO, ZERO, ZERO, at)] if count else []
    return [section("lines", "summary", [summary]), section("lines", "lines", listed)], fresh


COST_FIELDS = ("provider_price", "supplier")  # in an event's data: what the platform's supplier charged


def without_cost(data: Any) -> Any:
    """An event's `data` (JSON text) without the fields that tell the platform's cost."""
    try:
        doc = json.loads(data) if isinstance(data, str) else data
    except ValueError:
        return data
    if not isinstance(doc, dict) or not any(k in doc for k in COST_FIELDS):
        return data
    return json.dumps({k: v for k, v in doc.items() if k not in COST_FIELDS}, ensure_ascii=False)


def event(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    line_id = ctx.request.line or ""
    if not line_id:
        raise ValueError("line: give the id of a line (source/event_id/line_index, from the lines report)")
    where = "tenant_id IN %(ts)s AND concat(event_source, '/', event_id, '/', toString(line_index)) = %(l)s"
    params: dict[str, Any] = {"ts": [t.id for t in ctx.tenants], "l": line_id}
    if ctx.only_reseller is not None:
        where += " AND reseller_id = %(rs)s"
        params["rs"] = ctx.only_reseller
    found = store.query_rows(f"SELECT {_COLUMNS} FROM {store.db}.billable_lines WHERE {where} LIMIT 1", params)
    if not ctx.tenants or not found:
        raise NotFound(f"line {line_id!r}: no such line in this scope")
    line = _row(ctx, found[0])
    source, event_id, tenant = found[0][0], found[0][1], found[0][4]
    raw = store.query_rows(
        f"SELECT tenant_id, source, event_id, type, channel, event_time, ingested_at, data FROM {store.db}.raw_events "
        "WHERE tenant_id = %(t)s AND source = %(s)s AND event_id = %(e)s LIMIT 1",
        {"t": tenant, "s": source, "e": event_id},
    )  # fmt: skip
    events = [tuple(v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v for v in r)
              for r in raw]  # fmt: skip
    if ctx.scope.kind is not Kind.PLATFORM:  # what a supplier charged is the platform's alone
        events = [(*r[:-1], without_cost(r[-1])) for r in events]
    at = line[1]
    fresh = [Agg({}, None, 1, ZERO, ZERO, ZERO, at if isinstance(at, datetime) else None)]
    return [section("event", "line", [line]), section("event", "event", events)], fresh
