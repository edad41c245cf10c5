"""The reseller page: per dependent company, text messaging, chat, telephony and bot sections with counts
and prices, and each section's total price to platform and total price to reseller.

A `price_*` column is what the company is charged for that channel (price to reseller); the totals give
both prices. Prices are cycle charges: the lines of the period plus the adjustments of the cycles closing
in it (reports/adjustments.py), listed per cycle and meter in `adjustments`. `--with-expenses` keeps only
companies with any amount in the period.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from omnimeter.reports.adjustments import adjustments
from omnimeter.reports.model import Context, money, qty
from omnimeter.reports.query import Agg, fetch
from omnimeter.reports.section import Section
from omnimeter.reports.shapes import section
from omnimeter.sinks.clickhouse import ClickHouseStore

ZERO = Decimal(0)
TEXT_CHANNELS = (
    ("sms", ("sms.outbound.segments",)),
    ("viber", ("viber.outbound.messages",)),
    ("whatsapp", ("whatsapp.template.",)),
    ("email", ("email.outbound.messages",)),
    ("push", ("push.outbound.messages",)),
)
CHAT = (("operator", "chat.operator.messages"), ("bot", "chat.bot.messages"), ("user", "chat.user.messages"))
DIRECTIONS = (("outbound", "legacy"), ("inbound", "new"))


class _Company:
    def __init__(self) -> None:
        self.q: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.n: dict[str, int] = defaultdict(int)
        self.p: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.r: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.cur = ("USD", "USD")

    def add(self, a: Agg) -> None:
        m = a["meter"]
        self.q[m] += a.quantity
        self.n[m] += a.lines
        self.p[m] += a.amount_platform
        self.r[m] += a.amount_reseller
        self.cur = (a["currency_platform"] or self.cur[0], a["currency_reseller"] or self.cur[1])

    def sums(self, prefixes: tuple[str, ...]) -> tuple[Decimal, Decimal]:
        keys = [m for m in self.p if m.startswith(prefixes)]
        return sum((self.p[m] for m in keys), ZERO), sum((self.r[m] for m in keys), ZERO)

    def totals(self, prefixes: tuple[str, ...]) -> tuple[Decimal, Decimal]:
        p, r = self.sums(prefixes)
        return money(p, self.cur[0]), money(r, self.cur[1])


def resellers(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    dependents = [t for t in ctx.tenants if t.reseller]
    rows = fetch(store, dependents, ctx.period, ("tenant_id", "meter", "currency_platform", "currency_reseller"))
    companies: dict[str, _Company] = defaultdict(_Company)
    for a in rows:
        companies[a["tenant_id"]].add(a)
    adjs = adjustments(store, ctx.books, dependents, ctx.period)
    for adj in adjs:  # prices are cycle charges: the cycles closing in the period add their adjustments
        c = companies[adj.tenant_id]
        c.p[adj.meter] += adj.platform
        c.r[adj.meter] += adj.reseller
    listed = []
    for t in sorted(dependents, key=lambda t: t.id):
        c = companies[t.id]
        if ctx.request.with_expenses and not any(v for v in (*c.p.values(), *c.r.values())):
            continue
        listed.append((t, c))
    text, chat, phone, bot, summary = [], [], [], [], []
    for t, c in listed:
        row: list[object] = [t.id, t.name]
        prefixes: tuple[str, ...] = ()
        for ch, meters in TEXT_CHANNELS:
            if ch != "sms":
                row.append(qty(c.q[f"{ch}.outbound.sent"]))
            row.append(qty(c.q[f"{ch}.outbound.delivered"]))
            row.append(money(c.sums(meters)[1], c.cur[1]))
            prefixes += meters
        text.append((*row, *c.totals(prefixes)))
        chat_row: list[object] = [t.id, t.name]
        for _kind, meter in CHAT:
            chat_row += [qty(c.q[meter]), money(c.r[meter], c.cur[1])]
        chat.append((*chat_row, *c.totals(tuple(m for _k, m in CHAT))))
        for direction, label in DIRECTIONS:
            meter = f"voice.{direction}.seconds"
            phone.append((t.id, t.name, label, direction, c.n[meter], qty(c.q[meter]), *c.totals((meter,))))
        bot.append((t.id, t.name, qty(c.q["bot.billable_messages"]), *c.totals(("bot.billable_messages",))))
        summary.append((t.id, t.name, t.reseller, *c.totals(("",)), c.cur[0], c.cur[1]))
    return [
        section("resellers", "companies", summary),
        section("resellers", "text_messaging", text),
        section("resellers", "chat", chat),
        section("resellers", "telephony", phone),
        section("resellers", "bot", bot),
        section(
            "resellers",
            "adjustments",
            [
                (a.tenant_id, a.cycle_start, a.meter, a.platform, a.currency_platform, a.reseller, a.currency_reseller)
                for a in adjs
                if a.tenant_id in {t.id for t, _ in listed}
            ],
        ),
    ], rows
