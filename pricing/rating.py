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
from omnimeter.pricing.meters import SEAT_OTHER, SEAT_PREFIX, UNPRICED, is_billable, is_role
from omnimeter.pricing.money import line_amount
from omnimeter.pricing.units import Usage, classify, conversation_key, window_step
from omnimeter.pricing.whatsapp import FEP_REPLY_WITHIN, SERVICE, WindowState, template_delivered
from omnimeter.schemas.directory import Directory, Tenant
from omnimeter.schemas.events import UsageEvent, data_field

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


CORRECTION_STEP = 100  # a correction's line_index: the corrected line's + 100 (reversal) and + 200 (new line)
MAX_LINE_INDEX = 65_535  # billable_lines.line_index is a UInt16
ConversationKey = tuple[str, str, str]
DecisionRoot = tuple[str, str, int]  # (event source, event id, line index of the first line)


def line_id(ln: BillableLine) -> str:
    """A line's id within its tenant: its event's source and id and its index."""
    return f"{ln.event_source}/{ln.event_id}/{ln.line_index}"


def is_reversal(ln: BillableLine) -> bool:
    return bool(ln.corrects_line_id) and ln.quantity < 0


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
    def decisions(self, key: ConversationKey) -> dict[DecisionRoot, BillableLine]: ...
    def set_decision(self, key: ConversationKey, root: DecisionRoot, line: BillableLine) -> None: ...


class MemoryState:
    def __init__(self) -> None:
        self.windows: dict[tuple[str, str, str], WindowState] = {}
        self.usage: dict[tuple[str, date, str, bool], Decimal] = {}
        self.seats: set[tuple[str, date, str, str]] = set()
        self.decided: dict[ConversationKey, dict[DecisionRoot, BillableLine]] = {}

    def decisions(self, key: ConversationKey) -> dict[DecisionRoot, BillableLine]:
        return self.decided.get(key, {})

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


class UnknownTenant(Exception):
    """The event's tenant is not in the directory."""


class Rater:
    def __init__(self, books: PriceBooks, directory: Directory, state: RatingState) -> None:
        self.books = books
        self.directory = directory
        self.state = state
        self.roles = (directory.roles() | books.seat_roles()) if books is not None else directory.roles()
        # (meter, party) of charged lines of billable meters that the party's book does not price
        self.unpriced: Counter[tuple[str, str]] = Counter()
        self.corrections = 0  # WhatsApp decisions corrected (a reversal and a corrected line each)
        self.past_horizon = 0  # late WhatsApp messages older than the window horizon (decisions stand)

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
        if retail_book is not None and platform_book is not None and not platform_book.billing.same_as(policy):
            _, usages_p = classify(event, platform_book.billing, window)
            platform_qty = {u.meter: u.quantity for u in usages_p}
            have = {u.meter for u in usages}
            usages += [u._replace(quantity=ZERO, free_reason="") for u in usages_p if u.meter not in have]
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
            qty_p = usage.quantity if platform_qty is None else platform_qty.get(usage.meter, ZERO)
            decided = usage.by_window and key is not None
            ln = self._line(event.source, event.id, event.time, tenant, cycle, i, usage, qty_p, platform_book,
                            retail_book, dims, key[2] if decided and key else "")  # fmt: skip
            if decided and key is not None:
                self.state.set_decision(key, (ln.event_source, ln.event_id, ln.line_index), ln)
            lines.append(ln)
        if key is not None:
            state = new_window if new_window is not None else window
            if state is not None:
                lines += self._corrections(event, key, state, tenant)
        return lines

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
        for root, cur in sorted(self.state.decisions(key).items()):
            if cur.event_time < t or cur.event_time < floor:
                continue  # not affected, or past the horizon: the decision stands
            reason = self._decide_again(cur, state, tenant)
            if reason == ("" if cur.free_reason == UNPRICED else cur.free_reason):
                continue
            if cur.line_index + 2 * CORRECTION_STEP > MAX_LINE_INDEX:
                self.past_horizon += 1
                continue
            reversal, corrected = self._correct(cur, reason, tenant, why)
            self.state.set_decision(key, root, corrected)
            self.corrections += 1
            out += [reversal, corrected]
        return out

    def _paying_book(self, tenant: Tenant, at: datetime) -> PriceBook | None:
        if tenant.reseller:
            return self.books.select(Audience.RETAIL, at, tenant.id, tenant.reseller)
        return self.books.select(Audience.DIRECT, at, tenant.id, None)

    def _decide_again(self, cur: BillableLine, state: WindowState, tenant: Tenant) -> str:
        """The free reason ('' when charged) of a decided message on the current windows, under the
        WhatsApp rules of the paying party's book at the message's time."""
        book = self._paying_book(tenant, cur.event_time)
        rules = (book.billing if book else BillingPolicy()).whatsapp.rules
        category = SERVICE if cur.meter == SERVICE_METER else cur.meter.removeprefix("whatsapp.template.")
        if category == SERVICE and not rules.charge_service_messages:  # billed under the platform's rules only
            return "" if cur.free_reason == UNPRICED else cur.free_reason
        return str(template_delivered(state, cur.event_time, category, rules=rules).free_reason)

    def _correct(self, cur: BillableLine, reason: str, tenant: Tenant, why: str) -> tuple[BillableLine, BillableLine]:
        ref = line_id(cur)
        reversal = cur._replace(
            quantity=-cur.quantity, quantity_platform=-cur.quantity_platform, amount_platform=-cur.amount_platform,
            amount_reseller=-cur.amount_reseller, line_index=cur.line_index + CORRECTION_STEP,
            corrects_line_id=ref, correction_reason=why,
        )  # fmt: skip
        if not cur.free_reason:  # it counted toward each party's tiers
            if cur.quantity_platform:
                self.state.add_used(tenant.id, cur.cycle_start, cur.meter, -cur.quantity_platform, platform=True)
            if cur.quantity > 0:
                self.state.add_used(tenant.id, cur.cycle_start, cur.meter, -cur.quantity)
        reseller = tenant.reseller
        platform = self.books.select(
            Audience.WHOLESALE if reseller else Audience.DIRECT, cur.event_time, tenant.id, reseller
        )
        retail = self.books.select(Audience.RETAIL, cur.event_time, tenant.id, reseller) if reseller else None
        usage = Usage(cur.meter, cur.quantity, cur.unit, reason, cur.country or None, cur.conversation or None)
        dims = (cur.channel, cur.account, cur.billing_unit, cur.user_id, cur.team, cur.queue, cur.bot_id, cur.campaign)
        corrected = self._line(
            cur.event_source, cur.event_id, cur.event_time, tenant, cur.cycle_start,
            cur.line_index + 2 * CORRECTION_STEP, usage, cur.quantity_platform, platform, retail, dims,
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
        platform: PriceBook | None,
        retail: PriceBook | None,
        dims: tuple[str, str, str, str, str, str, str, str],
        conversation: str = "",
    ) -> BillableLine:
        charged = not usage.free_reason and (usage.quantity > 0 or quantity_p > 0)
        if platform is not None and usage.meter not in platform.prices:  # a tenant's table lacks it: the general book
            audience = Audience.WHOLESALE if tenant.reseller else Audience.DIRECT
            platform = self.books.select(audience, at, tenant.id, tenant.reseller, usage.meter)
        if retail is not None and usage.meter not in retail.prices:
            retail = self.books.select(Audience.RETAIL, at, tenant.id, tenant.reseller, usage.meter)
        if charged and is_billable(usage.meter):
            priced_p = platform is not None and usage.meter in platform.prices
            priced_r = retail is not None and usage.meter in retail.prices
            if not priced_p:
                self.unpriced[(usage.meter, "platform")] += 1
            if tenant.reseller and not priced_r:
                self.unpriced[(usage.meter, "reseller")] += 1
            if not priced_p and not priced_r:
                usage, charged = usage._replace(free_reason=UNPRICED), False  # never a silent 0
        if not charged:
            amount_p = amount_r = ZERO
        else:
            # tiers: each party's running quantity in the cycle under its own settings
            before_p = self.state.used(tenant.id, cycle, usage.meter, platform=True)
            periods_p = platform.billing.seat_multiplier(usage.meter, tenant.cycle) if platform else 1
            amount_p = (
                self._amount(platform, usage._replace(quantity=quantity_p), before_p, periods_p) if quantity_p else ZERO
            )
            if quantity_p:
                self.state.add_used(tenant.id, cycle, usage.meter, quantity_p, platform=True)
            amount_r = ZERO
            if usage.quantity > 0:
                before_r = self.state.used(tenant.id, cycle, usage.meter)
                periods_r = retail.billing.seat_multiplier(usage.meter, tenant.cycle) if retail else 1
                amount_r = self._amount(retail, usage, before_r, periods_r)
                self.state.add_used(tenant.id, cycle, usage.meter, usage.quantity)
        channel, account, billing_unit, user_id, team, queue, bot_id, campaign = dims
        return BillableLine(
            tenant.id, tenant.reseller or "", usage.meter, usage.quantity, usage.unit, source, event_id, index,
            at, cycle, channel, usage.country or "", account, billing_unit, user_id, team, queue, bot_id,
            campaign,
            amount_p, platform.currency if platform else "", platform.label if platform else "",
            amount_r, retail.currency if retail else "", retail.label if retail else "",
            str(usage.free_reason), quantity_p, conversation,
        )  # fmt: skip

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


def rate_all(events: Iterable[UsageEvent], books: PriceBooks, directory: Directory) -> list[BillableLine]:
    """Offline rating of events in the given order, from empty state."""
    rater = Rater(books, directory, MemoryState())
    return [line for e in events for line in rater.rate(e)]
