"""Price books: versioned, per party, validated with every problem listed at once.

A book belongs to a party (``platform`` or a reseller id) and an audience:
* ``direct``: the platform's prices for tenants without a reseller;
* ``wholesale``: the platform's prices to resellers for their tenants' usage (price to platform);
* ``retail``: a reseller's prices to its dependent tenants (price to reseller).
A book may be limited to some ``tenants`` (a per-tenant price table, which wins over the general book) or,
for wholesale, to some ``resellers``. Versions: the book with the latest ``effective_from`` at or before
the event time applies, so re-rating the same events gives the same amounts.

A price per meter: ``model`` (per_unit, graduated, volume, package, percentage), ``unit`` rate with
optional ``by_country`` / ``by_prefix`` decks (longest calling-code prefix wins, then the country, then
``unit``), ``per`` (the quantity a rate is for, e.g. 60 for a per-minute rate on seconds),
``connection_fee`` (per answered call), ``tiers`` (``up_to`` inclusive, the last open-ended),
``package_size``/``package_price``/``package_rounding`` and ``minimum`` (per cycle).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from omnimeter.pricing import whatsapp
from omnimeter.pricing.charges import Charge, ChargeModel, Tier
from omnimeter.pricing.destinations import digits_of
from omnimeter.pricing.meters import SEAT_PREFIX, is_meter
from omnimeter.pricing.money import Rounding
from omnimeter.pricing.voice import Increment
from omnimeter.schemas import bounds as b
from omnimeter.schemas.problems import Problem, ReferenceDataError, from_validation, load_yaml
from omnimeter.schemas.types import CallDirection, Period

# Every number of a book is bounded (schemas/bounds.py) so that every line's amount fits Decimal(18, 6):
# `per: 1e-30` or `unit: 1e20` is refused here, with the field named, not at rating or insert time.
Rate = Annotated[Decimal, Field(ge=0, le=b.MAX_RATE, decimal_places=b.MAX_DECIMAL_PLACES, allow_inf_nan=False)]
Fee = Annotated[Decimal, Field(ge=0, le=b.MAX_FEE, decimal_places=b.MAX_DECIMAL_PLACES, allow_inf_nan=False)]
Per = Annotated[Decimal, Field(ge=b.MIN_PER, le=b.MAX_PER, decimal_places=b.MAX_DECIMAL_PLACES, allow_inf_nan=False)]
TierBound = Annotated[Decimal, Field(gt=0, le=b.MAX_TIER_BOUND, decimal_places=6, allow_inf_nan=False)]
PackageSize = Annotated[
    Decimal, Field(ge=b.MIN_PACKAGE_SIZE, le=b.MAX_PACKAGE_SIZE, decimal_places=6, allow_inf_nan=False)
]
Percent = Annotated[Decimal, Field(ge=0, le=b.MAX_PERCENT, decimal_places=b.MAX_DECIMAL_PLACES, allow_inf_nan=False)]
IncrementText = Annotated[str, StringConstraints(pattern=r"^[1-9]\d{0,4}(/[1-9]\d{0,4})?$")]  # X/Y seconds


class Audience(StrEnum):
    DIRECT = "direct"
    WHOLESALE = "wholesale"
    RETAIL = "retail"
    COST = "cost"  # what a supplier (Meta, an SMS aggregator, a voice carrier) charges the platform


class BilledOn(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TierSpec(_Model):
    up_to: TierBound | None = None
    unit: Rate = Decimal(0)
    flat: Fee = Decimal(0)


class Price(_Model):
    model: ChargeModel = ChargeModel.PER_UNIT
    unit: Rate | None = None
    per: Per = Decimal(1)
    by_country: dict[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")], Rate] = Field(default_factory=dict)
    by_prefix: dict[Annotated[str, StringConstraints(pattern=r"^[0-9]{1,15}$")], Rate] = Field(default_factory=dict)
    connection_fee: Fee = Decimal(0)
    tiers: tuple[TierSpec, ...] = Field(default=(), max_length=b.MAX_TIERS)
    package_size: PackageSize | None = None
    package_price: Rate | None = None
    package_rounding: str = "up"
    percent: Percent | None = None
    minimum: Fee = Decimal(0)

    @model_validator(mode="after")
    def _complete(self) -> Price:
        m = self.model
        if m is ChargeModel.PER_UNIT and self.unit is None and not self.by_country and not self.by_prefix:
            raise ValueError("per_unit needs unit, by_country or by_prefix")
        if m in (ChargeModel.GRADUATED, ChargeModel.VOLUME):
            if not self.tiers:
                raise ValueError(f"{m.value} needs tiers")
            bounds = [t.up_to for t in self.tiers]
            if bounds[-1] is not None:
                raise ValueError("the last tier must be open-ended (no up_to)")
            if any(b is None for b in bounds[:-1]):
                raise ValueError("only the last tier may be open-ended")
            inner = [b for b in bounds[:-1] if b is not None]
            if inner != sorted(set(inner)):
                raise ValueError(f"tier bounds must increase strictly, got {[str(b) for b in inner]}")
        if m is ChargeModel.PACKAGE and (self.package_size is None or self.package_price is None):
            raise ValueError("package needs package_size and package_price")
        if self.package_rounding not in ("up", "down"):
            raise ValueError("package_rounding must be up or down")
        if m is ChargeModel.PERCENTAGE and self.percent is None:
            raise ValueError("percentage needs percent")
        return self

    def unit_rate(self, country: str | None = None, number: str | None = None) -> Decimal:
        """The per-unit rate for a destination: longest matching calling-code prefix, then country."""
        if number and self.by_prefix:
            digits = digits_of(number)
            for n in range(len(digits), 0, -1):
                rate = self.by_prefix.get(digits[:n])
                if rate is not None:
                    return rate / self.per
        if country and country.upper() in self.by_country:
            return self.by_country[country.upper()] / self.per
        return (self.unit or Decimal(0)) / self.per

    def cycle_amount(self, quantity: Decimal, country: str | None = None, number: str | None = None) -> Decimal:
        """What a cycle's quantity costs under this price, the cycle minimum applied."""
        return max(self.charge(country, number).total(quantity), self.minimum)

    def charge(self, country: str | None = None, number: str | None = None) -> Charge:
        rate = self.unit_rate(country, number)
        charges: dict[Decimal, Charge] = self.__dict__.setdefault("_charges", {})  # per rate: a deck has few
        found = charges.get(rate)
        if found is None:
            found = charges[rate] = Charge(
                model=self.model,
                unit=rate,
                tiers=tuple(Tier(t.up_to, t.unit / self.per, t.flat) for t in self.tiers),
                package_size=self.package_size or Decimal(1),
                package_price=self.package_price or Decimal(0),
                package_round_up=self.package_rounding == "up",
                percent=self.percent or Decimal(0),
            )
        return found


WhatsAppCategory = Literal[
    "marketing", "utility", "authentication", "authentication_international", "marketing_lite", "service"
]


class WhatsAppRules(_Model):
    """Which WhatsApp categories are free in which window, and whether non-template service messages are
    charged: Meta's rules as a dated book setting (a new book version switches them). Defaults: the
    per-message pricing of 2025-07-01 (utility templates and service messages free inside the 24 h
    customer-service window, everything free in the 72 h free-entry-point window, service messages not
    billed). From 2026-10-01: ``free_in_service_window: []`` and ``charge_service_messages: true`` (the
    book prices ``whatsapp.service.messages``, at the utility rate)."""

    free_in_service_window: tuple[WhatsAppCategory, ...] = ("utility", "service")
    free_in_entry_point_window: tuple[WhatsAppCategory, ...] | Literal["all"] = "all"
    charge_service_messages: bool = False

    @property
    def rules(self) -> whatsapp.Rules:
        found: whatsapp.Rules | None = self.__dict__.get("_rules")
        if found is None:
            fep = self.free_in_entry_point_window
            found = self.__dict__["_rules"] = whatsapp.Rules(
                frozenset(self.free_in_service_window),
                None if fep == "all" else frozenset(fep),
                self.charge_service_messages,
            )
        return found


class SeatPeriod(StrEnum):
    """What a seat price is for: one billing cycle, whatever its length (the default), or one month, so a
    yearly cycle charges each seat 12 times its price (months in the cycle: 1 monthly, 12 yearly)."""

    CYCLE = "cycle"
    MONTH = "month"


class BillingPolicy(_Model):
    sms_billed_on: BilledOn = BilledOn.SENT
    email_billed_on: BilledOn = BilledOn.SENT
    push_billed_on: BilledOn = BilledOn.SENT
    viber_billed_on: BilledOn = BilledOn.DELIVERED
    voice_increment: IncrementText = "60/60"
    # Per call direction, overriding `voice_increment` (e.g. outbound "60/6", inbound "1/1").
    voice_increments: dict[CallDirection, IncrementText] = Field(default_factory=dict)
    bill_unanswered: bool = False  # charge unanswered and 0 s calls (their `voice.calls` line; seconds stay 0)
    whatsapp: WhatsAppRules = Field(default_factory=WhatsAppRules)
    seat_period: SeatPeriod = SeatPeriod.CYCLE

    def seat_multiplier(self, meter: str, cycle: Period) -> int:
        """How many of the book's seat periods one cycle holds, for a seat meter (1 for any other)."""
        if self.seat_period is SeatPeriod.MONTH and meter.startswith(SEAT_PREFIX) and cycle is Period.YEARLY:
            return 12
        return 1

    def same_as(self, other: BillingPolicy) -> bool:
        """Whether both bill every usage alike (compares the settings, not the derived caches; remembered
        per other policy, which the entry holds so that its id is not reused)."""
        if self is other:
            return True
        cache: dict[int, tuple[BillingPolicy, bool]] = self.__dict__.setdefault("_same", {})
        hit = cache.get(id(other))
        if hit is None or hit[0] is not other:
            same = all(getattr(self, f) == getattr(other, f) for f in type(self).model_fields)
            hit = cache[id(other)] = (other, same)
        return hit[1]

    def billed_on(self, channel: str) -> BilledOn:
        return getattr(self, f"{channel}_billed_on", BilledOn.SENT)

    @property
    def increment(self) -> Increment:
        return self.increment_for(None)

    def increment_for(self, direction: CallDirection | None) -> Increment:
        """The X/Y increment of a call in `direction` (parsed once per book and direction)."""
        cache: dict[CallDirection | None, Increment] = self.__dict__.setdefault("_increments", {})
        found = cache.get(direction)
        if found is None:
            text = self.voice_increments.get(direction, self.voice_increment) if direction else self.voice_increment
            found = cache[direction] = Increment.parse(text)  # frozen model: a derived cache
        return found


class PriceBook(_Model):
    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    effective_from: AwareDatetime = Field(ge=b.EARLIEST_EVENT_TIME, le=datetime(2148, 12, 31, tzinfo=UTC))
    party: Annotated[str, StringConstraints(min_length=1)] = "platform"
    audience: Audience
    tenants: tuple[str, ...] = ()
    resellers: tuple[str, ...] = ()
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    rounding: Rounding = Rounding.HALF_UP
    billing: BillingPolicy = Field(default_factory=BillingPolicy)
    prices: dict[str, Price] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _party_fits_audience(self) -> PriceBook:
        if self.audience in (Audience.DIRECT, Audience.WHOLESALE) and self.party != "platform":
            raise ValueError(f"{self.audience.value} books belong to the platform, not {self.party!r}")
        if self.audience is Audience.RETAIL and self.party == "platform":
            raise ValueError("retail books belong to a reseller: set party to the reseller id")
        if self.audience is Audience.COST and self.party == "platform":
            raise ValueError("cost books belong to a supplier: set party to the supplier id (e.g. meta)")
        if self.audience is Audience.COST and (self.tenants or self.resellers):
            raise ValueError("cost books price what a supplier charges the platform: no tenants or resellers")
        return self

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    def seat_roles(self) -> frozenset[str]:
        return frozenset(m[len(SEAT_PREFIX) :] for m in self.prices if m.startswith(SEAT_PREFIX))


Prefix = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,15}$")]


class PriceBooks(_Model):
    books: tuple[PriceBook, ...] = ()
    # destination prefixes known for traffic pumping (premium and satellite ranges): a tenant's burst to one
    # of them alerts from a lower count (schemas/directory.py PumpingGuard); lines are billed as usual
    high_risk_prefixes: frozenset[Prefix] = Field(default=frozenset(), max_length=10_000)

    def seat_roles(self) -> frozenset[str]:
        """Roles some book prices seats of (cached)."""
        found: frozenset[str] | None = self.__dict__.get("_roles")
        if found is None:
            found = self.__dict__["_roles"] = frozenset().union(*(b.seat_roles() for b in self.books))
        return found

    def select(
        self, audience: Audience, at: datetime, tenant: str, reseller: str | None, meter: str | None = None
    ) -> PriceBook | None:
        """The book that prices `tenant`'s usage at `at` for an audience: a tenant-specific book wins
        over a general one; among those, the latest effective_from <= at. With `meter`: the first such book
        that prices the meter (a per-tenant price table overrides the meters it names; the others come
        from the general book in effect), else the book `select` gives without it."""
        first = None
        for book in self._candidates(audience, tenant, reseller):
            if book.effective_from <= at:
                if meter is None or meter in book.prices:
                    return book
                first = first or book
        return first

    def select_cost(self, at: datetime, channel: str, supplier: str | None = None) -> PriceBook | None:
        """The cost book of what a `channel` event costs the platform at `at`: among the cost books (by
        supplier, then book id) of which some version prices a meter of the channel, the version in effect
        (latest effective_from <= at) of the first one whose version in effect prices the channel; only
        `supplier`'s books when the event names one (none of its books: no cost). None: no cost."""
        prefix = f"{channel}."
        for versions in self._cost_candidates(channel):
            if supplier is not None and versions[0].party != supplier:
                continue
            book = next((b for b in versions if b.effective_from <= at), None)  # a later one may stop pricing it
            if book is not None and self._prices_channel(book, prefix):
                return book
        return None

    def _prices_channel(self, book: PriceBook, prefix: str) -> bool:
        """Whether `book` prices a meter starting with `prefix` (remembered per book and prefix; the
        entry holds the book so that its id is not reused)."""
        cache: dict[tuple[int, str], tuple[PriceBook, bool]] = self.__dict__.setdefault("_channel_priced", {})
        hit = cache.get((id(book), prefix))
        if hit is None or hit[0] is not book:
            hit = cache[(id(book), prefix)] = (book, any(m.startswith(prefix) for m in book.prices))
        return hit[1]

    def _cost_candidates(self, channel: str) -> tuple[tuple[PriceBook, ...], ...]:
        """The versions of each cost book (supplier, id) of which one prices the channel, latest first."""
        cache: dict[str, tuple[tuple[PriceBook, ...], ...]] = self.__dict__.setdefault("_cost", {})
        found = cache.get(channel)
        if found is None:
            prefix = f"{channel}."
            versions: dict[tuple[str, str], list[PriceBook]] = {}
            for b in self.books:
                if b.audience is Audience.COST:
                    versions.setdefault((b.party, b.id), []).append(b)
            found = cache[channel] = tuple(
                tuple(sorted(vs, key=lambda b: b.effective_from, reverse=True))
                for _key, vs in sorted(versions.items())
                if any(m.startswith(prefix) for b in vs for m in b.prices)
            )
        return found

    def _candidates(self, audience: Audience, tenant: str, reseller: str | None) -> tuple[PriceBook, ...]:
        """The books that may price this party's usage, best first (tenant-specific, then the latest
        effective_from): `select` takes the first already in effect. Cached per party."""
        cache: dict[tuple[Audience, str, str | None], tuple[PriceBook, ...]] = self.__dict__.setdefault("_cand", {})
        key = (audience, tenant, reseller)
        found = cache.get(key)
        if found is None:
            party = reseller if audience is Audience.RETAIL else "platform"
            found = tuple(
                sorted(
                    (
                        b
                        for b in self.books
                        if b.audience is audience
                        and b.party == party
                        and (not b.tenants or tenant in b.tenants)
                        and (audience is not Audience.WHOLESALE or not b.resellers or reseller in b.resellers)
                    ),
                    key=lambda b: (bool(b.tenants), b.effective_from),
                    reverse=True,
                )
            )
            cache[key] = found
        return found


def parse_price_books(text: str, file: str = "prices.yaml") -> PriceBooks:
    """Load price books; raises `ReferenceDataError` listing every problem of every book at once."""
    doc = load_yaml(text, file)
    if not isinstance(doc, dict) or not isinstance(doc.get("books"), list):
        raise ReferenceDataError([Problem(file, "", "expected a mapping with a list under 'books'")])
    problems: list[Problem] = []
    books: list[PriceBook] = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(doc["books"]):
        where = f"books.{i}"
        try:
            book = PriceBook.model_validate(raw)
            books.append(book)
        except ValidationError as e:
            problems += [
                Problem(file, f"{where}.{p.path}" if p.path else where, p.message) for p in from_validation(file, e)
            ]
        if not isinstance(raw, dict):
            continue
        for meter in raw.get("prices") or {}:
            if not is_meter(str(meter)):
                problems.append(Problem(file, f"{where}.prices.{meter}", "unknown meter"))
        ident = (str(raw.get("id")), str(raw.get("version")))
        if ident in seen:
            problems.append(Problem(file, where, f"book {ident[0]}@{ident[1]} is defined twice"))
        seen.add(ident)
    risky = doc.get("high_risk_prefixes") or []
    try:
        high_risk = PriceBooks.model_validate({"high_risk_prefixes": risky}).high_risk_prefixes
    except ValidationError as e:
        high_risk = frozenset()
        problems += [
            Problem(file, f"high_risk_prefixes.{p.path}".rstrip("."), p.message) for p in from_validation(file, e)
        ]
    problems += [Problem(file, str(k), "unknown section") for k in doc if k not in ("books", "high_risk_prefixes")]
    if problems:
        raise ReferenceDataError(problems)
    return PriceBooks(books=tuple(books), high_risk_prefixes=high_risk)
