"""A tenant's billing cycle: usage against commitments, estimated charges per price line with tiers and
minimums applied to the cycle's quantity, prepaid carrier credit used, and what carries into the next cycle.

Lines are priced as they arrive (a volume price at the running tier); the cycle's charge for a price line
is its charge model applied to the cycle quantity (pricing/cycle_charges.py), for each party under the
book versions that priced its lines. `adjustment` is the difference, shown, not hidden. `charges` is what
the tenant pays; `charges_by_party` shows both prices, to the platform and to the tenant's reseller.
Carry-over: WhatsApp service windows opened before the cycle ends that are still open after it (their
replies are free in the next cycle) and the credit left.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from omnimeter.pricing.books import Audience
from omnimeter.pricing.commitments import CommitmentUsage, CreditUsage
from omnimeter.pricing.cycle_charges import PartyCharge
from omnimeter.pricing.cycles import Cycle, cycle_of
from omnimeter.pricing.whatsapp import CUSTOMER_SERVICE_WINDOW, FEP_WINDOW, FREE_ENTRY_POINTS
from omnimeter.reports.adjustments import cycle_charges
from omnimeter.reports.cycle_nav import cycles_around, following, previous, state
from omnimeter.reports.cycle_warnings import commitment_warning, credit_warning, forecast
from omnimeter.reports.model import Context, cost, cost_currency, money, qty
from omnimeter.reports.period import Period, PeriodError, check_day
from omnimeter.reports.query import Agg, fetch
from omnimeter.reports.section import Section
from omnimeter.reports.services import CARRIER_PREFIXES
from omnimeter.reports.shapes import section
from omnimeter.sinks.clickhouse import ClickHouseStore

ZERO = Decimal(0)


def cycle_period(ctx: Context) -> tuple[datetime, datetime]:
    tenant = ctx.tenants[0]
    at = datetime.now(UTC)
    if ctx.request.cycle:
        try:
            day = check_day(date.fromisoformat(ctx.request.cycle), "cycle")
        except PeriodError:
            raise
        except ValueError:
            raise ValueError(
                f"cycle: expected a date inside the cycle (YYYY-MM-DD), got {ctx.request.cycle!r}"
            ) from None
        at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)
    c = cycle_of(at, tenant.signup, tenant.cycle, tenant.timezone)
    return c.start, c.end


def cycle(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    if len(ctx.tenants) != 1:
        raise ValueError("tenant: a cycle belongs to one tenant; give --tenant")
    tenant = ctx.tenants[0]
    start, end = cycle_period(ctx)
    period = Period(start.date(), (end - timedelta(days=1)).date(), tenant.timezone)
    rows = fetch(
        store, [tenant], period, ("meter", "free_reason", "reseller_id", "currency_platform", "currency_reseller"),
        reseller=ctx.only_reseller,
    )  # fmt: skip
    charged: dict[str, Decimal] = defaultdict(lambda: ZERO)
    amount: dict[str, Decimal] = defaultdict(lambda: ZERO)
    currency = tenant.currency
    for a in rows:
        if not a["free_reason"]:
            charged[a["meter"]] += a.quantity
        amount[a["meter"]] += cost(a)
        currency = cost_currency(a)
    audience = Audience.RETAIL if tenant.reseller else Audience.DIRECT
    book = ctx.books.select(
        audience, min(end, datetime.now(UTC)) - timedelta(microseconds=1), tenant.id, tenant.reseller
    )
    key = (tenant.id, start.date())
    by_party = cycle_charges(store, ctx.books, [key], ctx.only_reseller, {tenant.id: tenant.cycle}).get(key, [])
    charges, both = [], []
    for m in by_party:
        meter, model, quantity, platform, reseller = m.meter, m.model, m.charged, m.platform, m.reseller
        # what the tenant pays: for lines rated for a reseller, the reseller's price, never the platform's
        # (no retail book priced them: an unpriced zero)
        pays = (reseller or PartyCharge(platform.currency, ZERO, ZERO, (), True)) if m.reseller_id else platform
        paid_model = m.model_reseller if m.reseller_id else m.model  # of the books of the price it pays
        # a meter no book prices is a count for reports (sent, delivered, calls), not a price line
        if not (paid_model == "unpriced" and not pays.lines_amount):
            charges.append(
                (meter, paid_model, qty(quantity), pays.lines_amount, pays.charge, pays.adjustment, pays.currency)
            )
        if not ctx.scope.sees_both_prices_of(m.reseller_id) or (model == "unpriced" and not platform.lines_amount):
            continue
        r = reseller or PartyCharge("", ZERO, ZERO)
        both.append((meter, model, qty(quantity), platform.lines_amount, platform.charge, platform.adjustment,
                     platform.currency, r.lines_amount, r.charge, r.adjustment, r.currency))  # fmt: skip
    commitments = [CommitmentUsage(c.meter, c.included, charged.get(c.meter, ZERO)) for c in tenant.commitments]
    spent = sum((v for m, v in amount.items() if m.startswith(CARRIER_PREFIXES)), ZERO)
    credit = [CreditUsage(tenant.carrier_credit, spent)] if tenant.carrier_credit is not None else []
    now = datetime.now(UTC)
    elapsed = max(min(now, end) - start, timedelta(0))
    paid = {row[0]: row[4] for row in charges}  # meter -> estimated amount the tenant pays
    warnings = [
        commitment_warning(c.meter, qty(c.included), qty(c.used), paid.get(c.meter, ZERO), currency,
                           qty(forecast(c.used, start, end, now))).row()
        for c in commitments
    ]  # fmt: skip
    warnings += [credit_warning(c.credit, c.spent, currency, forecast(c.spent, start, end, now)).row() for c in credit]
    chosen = Cycle(start, end)
    signup, period, tz = tenant.signup, tenant.cycle, tenant.timezone
    nav = (previous(chosen, signup, period, tz).start.date(), following(chosen, signup, period, tz).start.date(),
           state(chosen, now))  # fmt: skip
    listed = [
        (c.start.isoformat(), c.end.isoformat(), state(c, now), int(c.start == start))
        for c in cycles_around(now, tenant.signup, tenant.cycle, tenant.timezone)
    ]
    return [
        section(
            "cycle",
            "cycle",
            [
                (
                    tenant.id,
                    start.isoformat(),
                    end.isoformat(),
                    tenant.cycle.value,
                    tenant.timezone,
                    elapsed.days,
                    (end - start).days,
                    book.label if book else "",
                )
            ],
        ),
        section(
            "cycle",
            "commitments",
            [
                (c.meter, qty(c.included), qty(c.used), qty(c.remaining), qty(c.overage), c.used_percent)
                for c in commitments
            ],
        ),
        section("cycle", "charges", charges),
        section("cycle", "charges_by_party", both),
        section(
            "cycle",
            "credit",
            [
                (
                    money(c.credit, currency),
                    money(c.spent, currency),
                    money(c.remaining, currency),
                    c.used_percent,
                    currency,
                )
                for c in credit
            ],
        ),
        section("cycle", "carry_over", open_windows(store, tenant.id, end)),
        section("cycle", "carried_in", open_windows(store, tenant.id, start)),
        section("cycle", "warnings", warnings),
        section("cycle", "totals", totals(charges, both)),
        section("cycle", "navigation", [nav]),
        section("cycle", "cycles", listed),
    ], rows


def totals(charges: list[tuple[Any, ...]], both: list[tuple[Any, ...]]) -> list[tuple[object, ...]]:
    """Per party and currency: the lines, the adjustment and the estimated charge, summed over the cycle's
    price lines (each already rounded to minor units). `tenant` is what the tenant pays; `platform` and
    `reseller` appear only where the viewer sees both prices (charges_by_party)."""
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for _m, _model, _q, lines, charge, adjustment, cur in charges:
        s = sums[("tenant", cur)]
        s[0], s[1], s[2] = s[0] + lines, s[1] + adjustment, s[2] + charge
    for r in both:
        for party, (lines, charge, adjustment, cur) in (("platform", r[3:7]), ("reseller", r[7:11])):
            if not cur:
                continue
            s = sums[(party, cur)]
            s[0], s[1], s[2] = s[0] + lines, s[1] + adjustment, s[2] + charge
    order = {"tenant": 0, "platform": 1, "reseller": 2}
    return [(p, *v, cur) for (p, cur), v in sorted(sums.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))]


def open_windows(store: ClickHouseStore, tenant: str, end: datetime) -> list[tuple[object, ...]]:
    """Conversations whose WhatsApp window opened before `end` and is still open after it."""
    rows = store.query_rows(
        f"SELECT JSONExtractString(data, 'account') AS account, JSONExtractString(data, 'contact') AS contact, "
        f"lower(JSONExtractString(data, 'entry_point')) AS ep, max(event_time) FROM {store.db}.raw_events "
        "WHERE tenant_id = %(t)s AND type = 'message.received' AND channel = 'whatsapp' "
        "AND event_time >= %(lo)s AND event_time < %(end)s GROUP BY account, contact, ep",
        {"t": tenant, "lo": end - FEP_WINDOW, "end": end},
    )
    cs: dict[str, set[str]] = defaultdict(set)
    fep: dict[str, set[str]] = defaultdict(set)
    until: dict[str, datetime] = {}
    for account, contact, ep, last in rows:
        last = last.replace(tzinfo=UTC) if last.tzinfo is None else last
        if ep in FREE_ENTRY_POINTS and last + FEP_WINDOW > end:
            fep[account].add(contact)
            until[account] = max(until.get(account, last), last + FEP_WINDOW)
        if last + CUSTOMER_SERVICE_WINDOW > end:
            cs[account].add(contact)
            until[account] = max(until.get(account, last), last + CUSTOMER_SERVICE_WINDOW)
    return [(a, len(cs[a]), len(fep[a]), until[a]) for a in sorted(until)]
