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
VOICE_ASSISTANT = tuple(f"voice_assistant.{k}.messages" for k in ("operator", "bot", "user"))
SECTIONS = ("companies", "text_messaging", "chat", "telephony", "bot")
DIRECTIONS = (("outbound", "legacy"), ("inbound", "new"))


class _Company:
    def __init__(self) -> None:
        self.q: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.n: dict[str, int] = defaultdict(int)
        self.p: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.r: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.cur = ("USD", "USD")
        self.both = False  # whether the viewer may see both prices (reports/scope.py): else no margin

    def add(self, a: Agg) -> None:
        m = a["meter"]
        self.q[m] += a.quantity
        self.n[m] += a.lines
        self.p[m] += a.amount_platform
        self.r[m] += a.amount_reseller
        self.cur = (a["currency_platform"] or self.cur[0], a["currency_reseller"] or self.cur[1])

    def sums(self, prefixes: tuple[str, ...]) -> tuple[Decimal, Decimal]:
        """Both prices of the meters under `prefixes`: each meter's (an invoice line) rounded once, then summed,
        so every section and the companies' totals agree with the services and lines reports to the cent."""
        keys = [m for m in self.p if m.startswith(prefixes)]
        # starting from a rounded zero: no meter still gives an amount in minor units (0.00)
        return (sum((money(self.p[m], self.cur[0]) for m in keys), money(ZERO, self.cur[0])),
                sum((money(self.r[m], self.cur[1]) for m in keys), money(ZERO, self.cur[1])))  # fmt: skip

    def totals(self, prefixes: tuple[str, ...]) -> tuple[Decimal, Decimal, Decimal | None]:
        """Price to platform, price to reseller and the margin (reseller - platform; None across currencies)."""
        p, r = self.sums(prefixes)
        return p, r, (r - p if self.both and self.cur[0] == self.cur[1] else None)


def totals_row(name: str, rows: list[tuple[object, ...]], companies: dict[str, _Company]) -> tuple[object, ...]:
    """A section's totals: the sums of its rows' prices and margins (each row already in minor units)."""
    currencies = {companies[str(r[0])].cur for r in rows}
    cur = currencies.pop() if len(currencies) == 1 else ("", "")
    p = sum((r[-3] for r in rows), ZERO)  # type: ignore[misc]
    rr = sum((r[-2] for r in rows), ZERO)  # type: ignore[misc]
    margins = [r[-1] for r in rows]
    margin = None if not cur[0] or any(m is None for m in margins) else sum(margins, ZERO)  # type: ignore[arg-type]
    negative = sum(1 for m in margins if m is not None and m < 0)  # type: ignore[operator]
    return (name, len(rows), p, rr, margin, negative, *cur)


def resellers(store: ClickHouseStore, ctx: Context) -> tuple[list[Section], list[Agg]]:
    dependents = [t for t in ctx.tenants if t.reseller]
    rows = fetch(
        store,
        dependents,
        ctx.period,
        ("tenant_id", "meter", "currency_platform", "currency_reseller"),
        reseller=ctx.only_reseller,
    )
    companies: dict[str, _Company] = defaultdict(_Company)
    for a in rows:
        companies[a["tenant_id"]].add(a)
    adjs = adjustments(store, ctx.books, dependents, ctx.period, reseller=ctx.only_reseller)
    for adj in adjs:  # prices are cycle charges: the cycles closing in the period add their adjustments
        c = companies[adj.tenant_id]
        c.p[adj.meter] += adj.platform
        c.r[adj.meter] += adj.reseller
    listed = []
    for t in sorted(dependents, key=lambda t: t.id):
        c = companies[t.id]
        if ctx.request.with_expenses and not any(v for v in (*c.p.values(), *c.r.values())):
            continue
        c.both = ctx.scope.sees_both_prices(t)
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
        chat_row += [qty(c.q[m]) for m in VOICE_ASSISTANT]
        chat_row.append(c.sums(VOICE_ASSISTANT)[1])
        chat.append((*chat_row, *c.totals((*(m for _k, m in CHAT), *VOICE_ASSISTANT))))
        for direction, label in DIRECTIONS:
            meter = f"voice.{direction}.seconds"
            phone.append((t.id, t.name, label, direction, c.n[meter], qty(c.q[meter]), *c.totals((meter,))))
        bot.append((t.id, t.name, qty(c.q["bot.billable_messages"]), *c.totals(("bot.billable_messages",))))
        p, r, margin = c.totals(("",))
        summary.append((t.id, t.name, t.reseller, p, r, c.cur[0], c.cur[1], margin))
    by_id = {t.id: c for t, c in listed}
    sections = (("text_messaging", text), ("chat", chat), ("telephony", phone), ("bot", bot))
    totals = [totals_row(name, rows, by_id) for name, rows in sections]
    totals.append(totals_row("companies", [(r[0], r[3], r[4], r[7]) for r in summary], by_id))
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
        section("resellers", "totals", totals),
    ], rows
