"""Rating: an accepted usage event becomes billable lines carrying both amounts.

The same `Rater` runs in the stream (streams/rate.py, with state kept in Faust tables and ClickHouse)
and offline (`omnimeter rate`, with `MemoryState`), so both give the same lines for the same events in
the same order. Amounts keep 6 decimal places; invoices round once per line to the currency's minor units.

WhatsApp corrections. A WhatsApp decision (charged, or free and why) follows event time whatever the
arrival order: when a message arrives whose time is earlier than a message already decided in its
conversation (a late customer or free-entry-point message opening a window, a late business message
moving a free-entry-point answer), every decided message of the conversation delivered at or after the
late message is decided again on the current windows. A decision that changes is never rewritten: the
rater appends a *reversal* (the line in effect negated: both quantities, both amounts, same free reason)
and the *corrected* line (priced again under the books of its own time), both carrying the id of the
line they correct (`corrects_line_id`) and why (`correction_reason`). Their `line_index` is the corrected
line's plus `CORRECTION_STEP` and twice that. Decisions on messages delivered before the window
horizon (`whatsapp.WindowState.decidable_from`) stand; the late message is counted in `past_horizon`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple, Protocol

from omnimeter.pricing.books import Audience, BillingPolicy, PriceBook, PriceBooks
from omnimeter.pricing.cycles import cycle_of
from omnimeter.pricing.destinations import matched_prefix
from omnimeter.pricing.meters import SEAT_OTHER, SEAT_PREFIX, UNPRICED, is_billable, is_role
from omnimeter.pricing.money import line_amount
from omnimeter.pricing.units import Usage, classify, conversation_key, window_step
from omnimeter.pricing.whatsapp import FEP_REPLY_WITHIN, SERVICE, WindowState, template_delivered
from omnimeter.schemas.directory import Directory, Tenant
from omnimeter.schemas.events import ProviderPrice, UsageEvent, data_field

ZERO = Decimal(0)
SERVICE_METER = "whatsapp.service.messages"


class BillableLine(NamedTuple):
    """One billable line. A named tuple: rating builds one or two per event, and a tuple is several times
    cheaper to build than a frozen dataclass of 26 fields; the stream's row is this tuple plus its source."""

    tenant_id: str
    reseller_id: str
    meter: str
    quantity: Decimal
    unit: str
    event_source: str
    event_id: str
    line_index: int
    event_time: datetime
    cycle_start: date
    channel: str
    country: str
    account: str
    billing_unit: str
    user_id: str
    team: str
    queue: str
    bot_id: str
    campaign: str
    amount_platform: Decimal
    currency_platform: str
    book_platform: str
    amount_reseller: Decimal
    currency_reseller: str
    book_reseller: str
    free_reason: str
    # The billable quantity under the platform book's settings when they differ from the paying party's
    # (a reseller's tenant: wholesale 1/1 against retail 60/60, SMS billed on sent against delivered);
    # else equal to `quantity`. Price to platform is priced, and tiered, on it.
    quantity_platform: Decimal
    # The contact of the WhatsApp conversation whose windows decided this line ('' for every other line,
    # and for a decision the provider's pricing made): a late message of that conversation may correct it.
    conversation: str = ""
    corrects_line_id: str = ""  # a reversal or corrected line: `line_id` of the line it corrects
    correction_reason: str = ""
    # Why the line is free for the platform's price ('' when charged): the decision under the platform
    # book's settings (a wholesale book whose WhatsApp rules charge service messages, SMS billed on sent
    # against delivered). Equal to `free_reason` when both books bill alike. Cycle charges of price to
    # platform count the lines this leaves charged.
    free_reason_platform: str = ""
    # What the line costs the platform (issue 19): the supplier's quantity under its cost book's settings
    # (a carrier's 60/6 against a customer's 1/1), the amount (a provider-reported price wins over the
    # cost book), its currency and book, where the amount came from ('provider', 'book'; '' when no cost
    # book prices the meter) and why the supplier does not charge it ('' when it does).
    quantity_cost: Decimal = Decimal(0)
    cost_amount: Decimal = Decimal(0)
    cost_currency: str = ""
    cost_book: str = ""
    cost_source: str = ""
    free_reason_cost: str = ""
    # The destination number's longest prefix a deck of the line knows (pricing/destinations.py; '' none):
    # what pumping alerts and the spend per prefix group by.
    destination_prefix: str = ""


PROVIDER, BOOK = "provider", "book"  # where a line's cost amount came from
CORRECTION_STEP = 100  # a correction's line_index: the corrected line's + 100 (reversal) and + 200 (new line)
MAX_LINE_INDEX = 65_535  # billable_lines.line_index is a UInt16
ConversationKey = tuple[str, str, str]
DecisionRoot = tuple[str, str, int]  # (event source, event id, line index of the first line)


def line_id(ln: BillableLine) -> str:
    """A line's id within its tenant: its event's source and id and its index."""
    return f"{ln.event_source}/{ln.event_id}/{ln.line_index}"


def is_reversal(ln: BillableLine) -> bool:
    """A reversal, by its index (the corrected line's + CORRECTION_STEP, an odd step): its quantity can be
    0 (a line only the platform or the supplier charges), so the sign does not tell."""
    return bool(ln.corrects_line_id) and (ln.line_index // CORRECTION_STEP) % 2 == 1


def decisions_from_lines(lines: Iterable[BillableLine]) -> dict[ConversationKey, dict[DecisionRoot, BillableLine]]:
    """The WhatsApp decisions in effect per conversation, from stored lines: for each decided message,
    its latest corrected line (or its first line when never corrected)."""
    out: dict[ConversationKey, dict[DecisionRoot, BillableLine]] = {}
    for ln in lines:
        if not ln.conversation or is_reversal(ln):
            continue
        found = out.setdefault((ln.tenant_id, ln.account, ln.conversation), {})
        root = (ln.event_source, ln.event_id, ln.line_index % CORRECTION_STEP)
        cur = found.get(root)
        if cur is None or ln.line_index > cur.line_index:
            found[root] = ln
    return out


class RatingState(Protocol):
    """State a rater reads and writes. Implementations: `MemoryState` (offline), streams/rate_state.py."""

    def window(self, key: tuple[str, str, str]) -> WindowState | None: ...
    def set_window(self, key: tuple[str, str, str], state: WindowState) -> None: ...
    def used(self, tenant: str, cycle: date, meter: str, platform: bool = False) -> Decimal: ...
    def add_used(self, tenant: str, cycle: date, meter: str, quantity: Decimal, platform: bool = False) -> None: ...
    def seat_counted(self, tenant: str, cycle: date, meter: str, user: str) -> bool: ...
    def count_seat(self, tenant: str, cycle: date, meter: str, user: str) -> None: ...
    def decisions(self, key: ConversationKey, since: datetime) -> dict[DecisionRoot, BillableLine]: ...
    def set_decision(self, key: ConversationKey, root: DecisionRoot, line: BillableLine) -> None: ...


class MemoryState:
    def __init__(self) -> None:
        self.windows: dict[tuple[str, str, str], WindowState] = {}
        self.usage: dict[tuple[str, date, str, bool], Decimal] = {}
        self.seats: set[tuple[str, date, str, str]] = set()
        self.decided: dict[ConversationKey, dict[DecisionRoot, BillableLine]] = {}

    def decisions(self, key: ConversationKey, since: datetime) -> dict[DecisionRoot, BillableLine]:
        return self.decided.get(key, {})  # every decision is here: `since` only bounds a store's read

    def set_decision(self, key: ConversationKey, root: DecisionRoot, line: BillableLine) -> None:
        self.decided.setdefault(key, {})[root] = line

    def window(self, key: tuple[str, str, str]) -> WindowState | None:
        return self.windows.get(key)

    def set_window(self, key: tuple[str, str, str], state: WindowState) -> None:
        self.windows[key] = state

    def used(self, tenant: str, cycle: date, meter: str, platform: bool = False) -> Decimal:
        return self.usage.get((tenant, cycle, meter, platform), ZERO)

    def add_used(self, tenant: str, cycle: date, meter: str, quantity: Decimal, platform: bool = False) -> None:
        key = (tenant, cycle, meter, platform)
        self.usage[key] = self.usage.get(key, ZERO) + quantity

    def seat_counted(self, tenant: str, cycle: date, meter: str, user: str) -> bool:
        return (tenant, cycle, meter, user) in self.seats

    def count_seat(self, tenant: str, cycle: date, meter: str, user: str) -> None:
        self.seats.add((tenant, cycle, meter, user))


def is_late(event: UsageEvent, state: WindowState) -> bool:
    """Whether a WhatsApp event may change decisions already made in its conversation: a business message
    of the conversation (every decided message is one) is timed after it."""
    t = event.time
    if event.type == "message.received":
        return any(o >= t for o in state.outbound)  # a window from t covers messages from t on
    if event.type in ("message.sent", "message.delivered"):
        # only as the (earlier) answer to a free-entry-point message can it move a window
        return any(f <= t <= f + FEP_REPLY_WITHIN for f in state.fep_inbound) and any(o > t for o in state.outbound)
    return False


class Cost(NamedTuple):
    """What rating knows of a line's cost before pricing it: the supplier's quantity and free decision,
    its cost book, and a provider-reported price (for the event's first billable line only)."""

    quantity: Decimal
    free_reason: str
    book: PriceBook | None
    provider: tuple[Decimal, str] | None = None  # (amount, currency)


NO_COST = Cost(ZERO, "", None)


class UnknownTenant(Exception):
    """The event's tenant is not in the directory."""


class Rater:
    def __init__(self, books: PriceBooks, directory: Directory, state: RatingState) -> None:
        self.books = books
        self.directory = directory
        self.state = state
        self.roles = (directory.roles() | books.seat_roles()) if books is not None else directory.roles()
        self.has_costs = books is not None and any(bk.audience is Audience.COST for bk in books.books)
        self.by_label = {bk.label: bk for bk in books.books} if books is not None else {}
        # (meter, party) of charged lines of billable meters that the party's book does not price
        self.unpriced: Counter[tuple[str, str]] = Counter()
        self.corrections = 0  # WhatsApp decisions corrected (a reversal and a corrected line each)
        self.past_horizon = 0  # late WhatsApp messages older than the window horizon (decisions stand)
        self.provider_prices_ignored = 0  # reported on an event with no line the supplier bills

    def observe(self, event: UsageEvent) -> None:
        """Apply an event's window change without rating it (a replayed event whose lines are stored)."""
        step = window_step(event, self.state.window)
        if step is not None:
            self.state.set_window(*step)

    def rate(self, event: UsageEvent) -> list[BillableLine]:
        tenant = self.directory.tenant(event.subject)
        if tenant is None:
            raise UnknownTenant(event.subject)
        reseller = tenant.reseller
        platform_book = self.books.select(
            Audience.WHOLESALE if reseller else Audience.DIRECT, event.time, tenant.id, reseller
        )
        retail_book = self.books.select(Audience.RETAIL, event.time, tenant.id, reseller) if reseller else None
        book = retail_book or platform_book
        policy = book.billing if book else BillingPolicy()
        key = conversation_key(event)
        window = self.state.window(key) if key else None
        new_window, usages = classify(event, policy, window)
        # Each amount under its own book's settings: the platform's quantities when its book bills otherwise.
        platform_qty: dict[str, Decimal] | None = None
        platform_why: dict[str, str] = {}
        if retail_book is not None and platform_book is not None and not platform_book.billing.same_as(policy):
            _, usages_p = classify(event, platform_book.billing, window)
            platform_qty = {u.meter: u.quantity for u in usages_p}
            platform_why = {u.meter: u.free_reason for u in usages_p}
            have = {u.meter for u in usages}
            usages += [u._replace(quantity=ZERO, free_reason="") for u in usages_p if u.meter not in have]
        costs = self._costs(event, policy, window, usages) if self.has_costs else None
        if key is not None and new_window is not None:
            self.state.set_window(key, new_window)
        cycle = cycle_of(event.time, tenant.signup, tenant.cycle, tenant.timezone).start.date()
        dims = self._dimensions(event, tenant)
        lines = []
        for i, usage in enumerate(usages):
            if usage.meter.startswith(SEAT_PREFIX):
                role = usage.meter[len(SEAT_PREFIX) :]
                if role not in self.roles or not is_role(role):  # a role nobody names: not a meter of its own
                    usage = usage._replace(meter=SEAT_OTHER)
            if usage.seat_user is not None:
                if self.state.seat_counted(tenant.id, cycle, usage.meter, usage.seat_user):
                    continue
                self.state.count_seat(tenant.id, cycle, usage.meter, usage.seat_user)
            if platform_qty is None:
                qty_p, why_p = usage.quantity, usage.free_reason
            else:
                qty_p, why_p = platform_qty.get(usage.meter, ZERO), platform_why.get(usage.meter, "")
            decided = usage.by_window and key is not None
            cost = NO_COST if costs is None else costs.get(usage.meter, NO_COST)
            ln = self._line(event.source, event.id, event.time, tenant, cycle, i, usage, qty_p, why_p,
                            platform_book, retail_book, dims, key[2] if decided and key else "", cost)  # fmt: skip
            if decided and key is not None:
                self.state.set_decision(key, (ln.event_source, ln.event_id, ln.line_index), ln)
            lines.append(ln)
        if key is not None:
            state = new_window if new_window is not None else window
            if state is not None:
                lines += self._corrections(event, key, state, tenant)
        return lines

    def _costs(
        self, event: UsageEvent, policy: BillingPolicy, window: WindowState | None, usages: list[Usage]
    ) -> dict[str, Cost] | None:
        """Each meter's cost inputs for `event` (None: no cost book prices its channel and no price was
        reported). The supplier's quantities come from its cost book's settings; a meter only the supplier
        bills (an SMS aggregator billing on sent where the books bill on delivered) is added to `usages`
        with quantity 0 for both parties."""
        d = event.data
        supplier = data_field(d, "supplier")  # declared on messages and calls; an extra field elsewhere
        book = self.books.select_cost(event.time, event.channel, supplier if isinstance(supplier, str) else None)
        reported = data_field(d, "provider_price")
        if not isinstance(reported, ProviderPrice):  # an undeclared extra field of another event type
            reported = None
        if book is None and reported is None:
            return None
        if book is None or book.billing.same_as(policy):
            cost_usages = usages
        else:
            _, cost_usages = classify(event, book.billing, window)
            have = {u.meter for u in usages}
            usages += [u._replace(quantity=ZERO, free_reason="") for u in cost_usages if u.meter not in have]
        out = {u.meter: Cost(u.quantity, u.free_reason, book) for u in cost_usages}
        if reported is not None:  # the provider's price is the cost of the event's first billable line
            first = next((u.meter for u in cost_usages if is_billable(u.meter)), None)
            if first is None:
                self.provider_prices_ignored += 1  # on an event the supplier does not bill (see the README)
                return out
            amount = abs(Decimal(reported.amount))  # Twilio reports what it charged as a negative price
            for meter, cost in out.items():  # it covers the whole event: no book cost beside it
                out[meter] = cost._replace(provider=(amount if meter == first else ZERO, reported.currency))
        return out

    def _corrections(
        self, event: UsageEvent, key: ConversationKey, state: WindowState, tenant: Tenant
    ) -> list[BillableLine]:
        """Reversal and corrected lines for the decided messages of `key` that `event`, arriving late,
        decides otherwise (see the module docstring)."""
        t = event.time
        if not is_late(event, state):
            return []
        floor = state.decidable_from() or t
        if t < floor:
            self.past_horizon += 1
        out: list[BillableLine] = []
        why = f"late {event.type} {event.source}/{event.id}"
        # `floor` is from the state this rating read: the store's read must reach back that far, even when
        # the agent has moved the conversation's floor on since
        for root, cur in sorted(self.state.decisions(key, floor).items()):
            if cur.event_time < t or cur.event_time < floor:
                continue  # not affected, or past the horizon: the decision stands
            reasons = self._decide_again(cur, state, tenant)
            if reasons == (_decided(cur.free_reason), _decided(cur.free_reason_platform), cur.free_reason_cost):
                continue
            if cur.line_index + 2 * CORRECTION_STEP > MAX_LINE_INDEX:
                self.past_horizon += 1
                continue
            reversal, corrected = self._correct(cur, reasons, tenant, why)
            self.state.set_decision(key, root, corrected)
            self.corrections += 1
            out += [reversal, corrected]
        return out

    def _books_at(self, tenant: Tenant, at: datetime) -> tuple[PriceBook | None, PriceBook | None]:
        """The platform's book (wholesale for a reseller's tenant, else direct) and the retail one (None
        for a direct tenant) in force at `at`."""
        reseller = tenant.reseller
        platform = self.books.select(Audience.WHOLESALE if reseller else Audience.DIRECT, at, tenant.id, reseller)
        retail = self.books.select(Audience.RETAIL, at, tenant.id, reseller) if reseller else None
        return platform, retail

    def _decide_again(self, cur: BillableLine, state: WindowState, tenant: Tenant) -> tuple[str, str, str]:
        """The free reasons ('' when charged) of a decided message on the current windows: for the price the
        tenant pays, for the price to platform and for its cost (the supplier's), each under the WhatsApp
        rules of its own book at the message's time."""
        platform, retail = self._books_at(tenant, cur.event_time)
        category = SERVICE if cur.meter == SERVICE_METER else cur.meter.removeprefix("whatsapp.template.")

        def again(book: PriceBook | None, current: str) -> str:
            rules = (book.billing if book else BillingPolicy()).whatsapp.rules
            if category == SERVICE and not rules.charge_service_messages:  # this party does not bill them
                return _decided(current)
            return str(template_delivered(state, cur.event_time, category, rules=rules).free_reason)

        cost_book = self.by_label.get(cur.cost_book)
        cost = again(cost_book, cur.free_reason_cost) if cost_book is not None else cur.free_reason_cost
        if retail is None:  # a direct tenant: one book decides both prices
            reason = again(platform, cur.free_reason)
            return reason, reason, cost
        return again(retail, cur.free_reason), again(platform, cur.free_reason_platform), cost

    def _correct(
        self, cur: BillableLine, reasons: tuple[str, str, str], tenant: Tenant, why: str
    ) -> tuple[BillableLine, BillableLine]:
        ref = line_id(cur)
        reversal = cur._replace(
            quantity=-cur.quantity, quantity_platform=-cur.quantity_platform, amount_platform=-cur.amount_platform,
            amount_reseller=-cur.amount_reseller, line_index=cur.line_index + CORRECTION_STEP,
            quantity_cost=-cur.quantity_cost, cost_amount=-cur.cost_amount,
            corrects_line_id=ref, correction_reason=why,
        )  # fmt: skip
        # it counted toward each party's tiers where that party charged it
        if not cur.free_reason_platform and cur.quantity_platform:
            self.state.add_used(tenant.id, cur.cycle_start, cur.meter, -cur.quantity_platform, platform=True)
        if not cur.free_reason and cur.quantity > 0:
            self.state.add_used(tenant.id, cur.cycle_start, cur.meter, -cur.quantity)
        platform, retail = self._books_at(tenant, cur.event_time)
        reason, reason_p, reason_c = reasons
        usage = Usage(cur.meter, cur.quantity, cur.unit, reason, cur.country or None, cur.conversation or None)
        dims = (cur.channel, cur.account, cur.billing_unit, cur.user_id, cur.team, cur.queue, cur.bot_id, cur.campaign)
        provider = (cur.cost_amount, cur.cost_currency) if cur.cost_source == PROVIDER else None
        cost = Cost(cur.quantity_cost, reason_c, self.by_label.get(cur.cost_book), provider)
        corrected = self._line(
            cur.event_source, cur.event_id, cur.event_time, tenant, cur.cycle_start,
            cur.line_index + 2 * CORRECTION_STEP, usage, cur.quantity_platform, reason_p, platform, retail, dims,
            "", cost,
        )._replace(conversation=cur.conversation, corrects_line_id=ref, correction_reason=why)  # fmt: skip
        return reversal, corrected

    def _dimensions(self, event: UsageEvent, tenant: Tenant) -> tuple[str, str, str, str, str, str, str, str]:
        """The report dimensions of an event's lines: channel, account, billing unit, user, team, queue,
        bot, campaign (read once per event, not once per line)."""
        d = event.data
        account = str(data_field(d, "account") or "")
        acct = self.directory.account(tenant.id, account) if account else None
        return (
            event.channel,
            account,
            (acct.billing_unit or "") if acct else "",
            str(data_field(d, "user_id") or ""),
            str(data_field(d, "team") or ""),
            str(data_field(d, "queue") or ""),
            str(data_field(d, "bot_id") or ""),
            str(data_field(d, "campaign") or ""),
        )

    def _line(
        self,
        source: str,
        event_id: str,
        at: datetime,
        tenant: Tenant,
        cycle: date,
        index: int,
        usage: Usage,
        quantity_p: Decimal,
        why_p: str,
        platform: PriceBook | None,
        retail: PriceBook | None,
        dims: tuple[str, str, str, str, str, str, str, str],
        conversation: str = "",
        cost: Cost = NO_COST,
    ) -> BillableLine:
        """One line: each party's amount on its own quantity and free decision (`usage.free_reason` for the
        price the tenant pays, `why_p` for the price to platform)."""
        charged_r = not usage.free_reason and usage.quantity > 0
        charged_p = not why_p and quantity_p > 0
        if platform is not None and usage.meter not in platform.prices:  # a tenant's table lacks it: the general book
            audience = Audience.WHOLESALE if tenant.reseller else Audience.DIRECT
            platform = self.books.select(audience, at, tenant.id, tenant.reseller, usage.meter)
        if retail is not None and usage.meter not in retail.prices:
            retail = self.books.select(Audience.RETAIL, at, tenant.id, tenant.reseller, usage.meter)
        if (charged_r or charged_p) and is_billable(usage.meter):
            priced_p = platform is not None and usage.meter in platform.prices
            priced_r = retail is not None and usage.meter in retail.prices
            if not priced_p:
                self.unpriced[(usage.meter, "platform")] += 1
            if tenant.reseller and not priced_r:
                self.unpriced[(usage.meter, "reseller")] += 1
            if not priced_p and not priced_r:  # never a silent 0
                if charged_r:
                    usage = usage._replace(free_reason=UNPRICED)
                if charged_p:
                    why_p = UNPRICED
                charged_r = charged_p = False
        # tiers: each party's running quantity in the cycle under its own settings
        amount_p = amount_r = ZERO
        if charged_p:
            before_p = self.state.used(tenant.id, cycle, usage.meter, platform=True)
            periods_p = platform.billing.seat_multiplier(usage.meter, tenant.cycle) if platform else 1
            amount_p = self._amount(platform, usage._replace(quantity=quantity_p), before_p, periods_p)
            self.state.add_used(tenant.id, cycle, usage.meter, quantity_p, platform=True)
        if charged_r:
            before_r = self.state.used(tenant.id, cycle, usage.meter)
            periods_r = retail.billing.seat_multiplier(usage.meter, tenant.cycle) if retail else 1
            amount_r = self._amount(retail, usage, before_r, periods_r)
            self.state.add_used(tenant.id, cycle, usage.meter, usage.quantity)
        channel, account, billing_unit, user_id, team, queue, bot_id, campaign = dims
        cost_amount, cost_currency, cost_label, cost_source = self._cost(cost, usage)
        return BillableLine(
            tenant.id, tenant.reseller or "", usage.meter, usage.quantity, usage.unit, source, event_id, index,
            at, cycle, channel, usage.country or "", account, billing_unit, user_id, team, queue, bot_id,
            campaign,
            amount_p, platform.currency if platform else "", platform.label if platform else "",
            amount_r, retail.currency if retail else "", retail.label if retail else "",
            str(usage.free_reason), quantity_p, conversation, "", "", why_p,
            cost.quantity, cost_amount, cost_currency, cost_label, cost_source, cost.free_reason,
            self._prefix(usage, platform, retail, cost.book),
        )  # fmt: skip

    def _prefix(self, usage: Usage, *books: PriceBook | None) -> str:
        if not usage.number:
            return ""
        decks = [p.by_prefix for b in books if b is not None and (p := b.prices.get(usage.meter)) is not None]
        return matched_prefix(usage.number, [*decks, self.books.high_risk_prefixes])

    @staticmethod
    def _cost(cost: Cost, usage: Usage) -> tuple[Decimal, str, str, str]:
        """A line's cost amount, currency, book label and source: the provider's price when reported, else
        the cost book's price of the supplier's quantity (0 when the supplier's rules make it free)."""
        book = cost.book
        if cost.provider is not None:
            amount, currency = cost.provider
            return line_amount(amount), currency, "", PROVIDER
        if book is None:
            return ZERO, "", "", ""
        price = book.prices.get(usage.meter)
        if price is None:
            return ZERO, "", "", ""
        if cost.free_reason or cost.quantity <= 0:
            return ZERO, book.currency, book.label, BOOK
        # per line from zero: a supplier's tiers run over all its traffic; the cycle charge applies them
        amount = price.charge(usage.country, usage.number).marginal(ZERO, cost.quantity)
        if usage.connection:
            amount += price.connection_fee
        return line_amount(amount), book.currency, book.label, BOOK

    @staticmethod
    def _amount(book: PriceBook | None, usage: Usage, before: Decimal, periods: int = 1) -> Decimal:
        """`periods`: the book's seat periods in the tenant's cycle (BillingPolicy.seat_multiplier)."""
        if book is None:
            return ZERO
        price = book.prices.get(usage.meter)
        if price is None:
            return ZERO
        amount = price.charge(usage.country, usage.number).marginal(before, usage.quantity) * periods
        if usage.connection:
            amount += price.connection_fee
        return line_amount(amount)


def _decided(reason: str) -> str:
    """A stored free reason as a decision: an unpriced line was charged (no book priced it)."""
    return "" if reason == UNPRICED else reason


def rate_all(events: Iterable[UsageEvent], books: PriceBooks, directory: Directory) -> list[BillableLine]:
    """Offline rating of events in the given order, from empty state."""
    rater = Rater(books, directory, MemoryState())
    return [line for e in events for line in rater.rate(e)]
