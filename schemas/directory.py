"""The directory: resellers, tenants, users, accounts (numbers), billing units, teams, queues and bots.

Applied from YAML with `omnimeter directory apply`; every worker uses the same version. `load_directory`
checks structure and references and lists every problem at once.
Rules: an account (number) belongs to exactly one billing unit; a user may belong to several (equal
split unless weights are given); everything a tenant refers to belongs to that tenant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from omnimeter.schemas import bounds
from omnimeter.schemas.problems import Problem, ReferenceDataError, from_validation, load_yaml
from omnimeter.schemas.types import Period

Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Money = Annotated[Decimal, Field(ge=0, le=bounds.MAX_MONEY, decimal_places=6, allow_inf_nan=False)]


class _Ref(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reseller(_Ref):
    id: Id
    name: str = ""
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"


class Commitment(_Ref):
    meter: Id
    included: Annotated[Decimal, Field(ge=0, le=bounds.MAX_COMMITMENT, decimal_places=6, allow_inf_nan=False)]


Percent = Annotated[Decimal, Field(gt=0, le=bounds.MAX_PERCENT, decimal_places=2, allow_inf_nan=False)]


class PumpingGuard(_Ref):
    """Traffic pumping: a tenant's billable messages and calls to one destination prefix in an hour (UTC,
    aligned) against that prefix's own trailing baseline (the mean per hour over `baseline_days` before
    the hour). An hour with at least `min_events` and more than `factor` times the baseline is a spike; a
    prefix on the rate deck's `high_risk_prefixes` list is one from `high_risk_min_events`, baseline or
    not. Alerts carry the evidence; the events are billed as usual."""

    # strict: YAML's true/false are not 1/0 days or events, nor are 50.0 or "50"
    baseline_days: int = Field(default=7, ge=1, le=35, strict=True)
    factor: Annotated[Decimal, Field(default=Decimal(5), gt=1, le=bounds.MAX_PERCENT, allow_inf_nan=False)]
    min_events: int = Field(default=50, ge=1, le=10**9, strict=True)
    high_risk_min_events: int = Field(default=10, ge=1, le=10**9, strict=True)


class AlertThresholds(_Ref):
    """What publishes an `omnimeter.alert.*` event (once per threshold and cycle, or day, or hour).
    `cycle_spend`: amounts of the running cycle's estimated charge (what the tenant pays, its currency);
    `commitment_percent` / `credit_percent`: of each commitment and of the carrier credit (as the
    dashboard's warnings); `prefix_daily_spend`: what the tenant pays for one destination prefix in a
    day (its time zone); `pumping`: the guard above (None: off)."""

    cycle_spend: tuple[Annotated[Money, Field(gt=0)], ...] = Field(default=(), max_length=10)
    commitment_percent: tuple[Percent, ...] = Field(default=(Decimal(80), Decimal(100)), max_length=10)
    credit_percent: tuple[Percent, ...] = Field(default=(Decimal(80), Decimal(100)), max_length=10)
    prefix_daily_spend: Money | None = None
    pumping: PumpingGuard | None = None

    @field_validator("cycle_spend", "commitment_percent", "credit_percent")
    @classmethod
    def _distinct(cls, v: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
        """Ascending, each once: 80 and 80.0 are one threshold (one crossing, one alert)."""
        return tuple(sorted(set(v)))


class Tenant(_Ref):
    id: Id
    name: str = ""
    reseller: Id | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    timezone: str = "UTC"
    signup: date = Field(ge=date(1971, 1, 1), le=date(2148, 12, 31))  # a cycle anchor inside the Date column
    cycle: Period = Period.MONTHLY
    commitments: tuple[Commitment, ...] = ()
    carrier_credit: Money | None = None
    alerts: AlertThresholds | None = None  # the fields given replace the directory's `alerts` defaults

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class BillingUnit(_Ref):
    id: Id
    tenant: Id
    name: str = ""


class User(_Ref):
    id: Id
    tenant: Id
    name: str = ""
    email: str = ""
    role: Id = "agent"
    channels: tuple[str, ...] = ()
    team: Id | None = None
    billing_units: tuple[Id, ...] = ()
    weights: dict[Id, Annotated[Decimal, Field(gt=0, le=bounds.MAX_COMMITMENT, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )


class Account(_Ref):
    id: Id  # the business number, sender id, app or mailbox as events name it
    tenant: Id
    channel: str = ""
    billing_unit: Id | None = None


class Named(_Ref):
    id: Id
    tenant: Id
    name: str = ""
    billing_unit: Id | None = None


class Directory(_Ref):
    version: str = ""
    resellers: tuple[Reseller, ...] = ()
    tenants: tuple[Tenant, ...] = ()
    billing_units: tuple[BillingUnit, ...] = ()
    users: tuple[User, ...] = ()
    accounts: tuple[Account, ...] = ()
    teams: tuple[Named, ...] = ()
    queues: tuple[Named, ...] = ()
    bots: tuple[Named, ...] = ()
    alerts: AlertThresholds = AlertThresholds()  # the platform's defaults

    def alerts_for(self, tenant: Tenant) -> AlertThresholds:
        """The tenant's thresholds: the fields its `alerts` gives, the directory's defaults for the rest."""
        if tenant.alerts is None:
            return self.alerts
        given = {k: getattr(tenant.alerts, k) for k in tenant.alerts.model_fields_set}
        return self.alerts.model_copy(update=given)

    def roles(self) -> frozenset[str]:
        """The roles the directory's users have (cached)."""
        found: frozenset[str] | None = self.__dict__.get("_roles")
        if found is None:
            found = self.__dict__["_roles"] = frozenset(u.role for u in self.users)
        return found

    def time_zones(self) -> dict[str, str]:
        return {t.id: t.timezone for t in self.tenants}

    def tenant(self, tenant_id: str) -> Tenant | None:
        return self._index()[0].get(tenant_id)

    def tenants_by_id(self) -> Mapping[str, Tenant]:
        """Tenants by id (read-only view; `in` tells whether a tenant is known)."""
        return MappingProxyType(self._index()[0])

    def account(self, tenant_id: str, account_id: str) -> Account | None:
        return self._index()[1].get((tenant_id, account_id))

    def user(self, tenant_id: str, user_id: str) -> User | None:
        return self._index()[2].get((tenant_id, user_id))

    def _index(self) -> tuple[dict[str, Tenant], dict[tuple[str, str], Account], dict[tuple[str, str], User]]:
        cached = self.__dict__.get("_idx")
        if cached is None:
            cached = (
                {t.id: t for t in self.tenants},
                {(a.tenant, a.id): a for a in self.accounts},
                {(u.tenant, u.id): u for u in self.users},
            )
            object.__setattr__(self, "_idx", cached)  # frozen model: a private, derived cache
        return cached


def _check_references(d: Directory, file: str, origin: dict[str, list[int]] | None = None) -> list[Problem]:
    """Reference problems; `origin` maps each list's entries back to their index in the file."""
    out: list[Problem] = []

    def at(kind: str, i: int) -> int:
        return origin[kind][i] if origin and kind in origin else i

    resellers = {r.id for r in d.resellers}
    tenants = {t.id for t in d.tenants}
    units = {(b.tenant, b.id) for b in d.billing_units}

    def dupes(kind: str, keys: list[tuple[str, ...]]) -> None:
        seen: set[tuple[str, ...]] = set()
        for i, k in enumerate(keys):
            if k in seen:
                out.append(Problem(file, f"{kind}.{at(kind, i)}.id", f"duplicate id {k[-1]!r}"))
            seen.add(k)

    dupes("resellers", [(r.id,) for r in d.resellers])
    dupes("tenants", [(t.id,) for t in d.tenants])
    dupes("billing_units", [(b.tenant, b.id) for b in d.billing_units])
    dupes("users", [(u.tenant, u.id) for u in d.users])
    dupes("accounts", [(a.tenant, a.id) for a in d.accounts])
    for i, t in enumerate(d.tenants):
        if t.reseller is not None and t.reseller not in resellers:
            out.append(Problem(file, f"tenants.{at('tenants', i)}.reseller", f"unknown reseller {t.reseller!r}"))
    owned: tuple[tuple[str, Sequence[BillingUnit | User | Account | Named]], ...] = (
        ("billing_units", d.billing_units),
        ("users", d.users),
        ("accounts", d.accounts),
        ("teams", d.teams),
        ("queues", d.queues),
        ("bots", d.bots),
    )
    for kind, items in owned:
        for i, item in enumerate(items):
            if item.tenant not in tenants:
                out.append(Problem(file, f"{kind}.{at(kind, i)}.tenant", f"unknown tenant {item.tenant!r}"))
    attributed: tuple[tuple[str, Sequence[Account | Named]], ...] = (
        ("accounts", d.accounts), ("teams", d.teams), ("queues", d.queues), ("bots", d.bots),
    )  # fmt: skip
    for kind, attributed_items in attributed:
        for i, item in enumerate(attributed_items):
            bu = item.billing_unit
            if bu is not None and (item.tenant, bu) not in units:
                out.append(
                    Problem(file, f"{kind}.{at(kind, i)}.billing_unit", f"unknown billing unit {bu!r} of {item.tenant}")
                )
    for i, u in enumerate(d.users):
        for bu in u.billing_units:
            if (u.tenant, bu) not in units:
                out.append(
                    Problem(file, f"users.{at('users', i)}.billing_units", f"unknown billing unit {bu!r} of {u.tenant}")
                )
        for bu in u.weights:
            if bu not in u.billing_units:
                out.append(
                    Problem(
                        file, f"users.{at('users', i)}.weights.{bu}", "weight for a billing unit the user is not in"
                    )
                )
    return out


_LISTS: dict[str, type[_Ref]] = {
    "resellers": Reseller,
    "tenants": Tenant,
    "billing_units": BillingUnit,
    "users": User,
    "accounts": Account,
    "teams": Named,
    "queues": Named,
    "bots": Named,
}


_SINGLE = ("version", "alerts")


def parse_directory(text: str, file: str = "directory.yaml") -> Directory:
    """Load a directory; raises `ReferenceDataError` listing every problem at once: each entry is validated
    on its own, and references are checked among the entries that are valid."""
    doc = load_yaml(text, file)
    if not isinstance(doc, dict):
        raise ReferenceDataError([Problem(file, "", "expected a mapping with tenants, users, accounts, ...")])
    problems = [Problem(file, str(k), "unknown section") for k in doc if k not in _LISTS and k not in _SINGLE]
    single: dict[str, object] = {}
    if doc.get("alerts") is not None:
        try:
            single["alerts"] = AlertThresholds.model_validate(doc["alerts"])
        except ValidationError as e:
            problems += [Problem(file, f"alerts.{p.path}".rstrip("."), p.message) for p in from_validation(file, e)]
    valid: dict[str, list[_Ref]] = {}
    origin: dict[str, list[int]] = {}
    for key, model in _LISTS.items():
        items = doc.get(key) or []
        if not isinstance(items, list):
            problems.append(Problem(file, key, "expected a list"))
            continue
        valid[key], origin[key] = [], []
        for i, item in enumerate(items):
            try:
                valid[key].append(model.model_validate(item))
                origin[key].append(i)
            except ValidationError as e:
                problems += [
                    Problem(file, f"{key}.{i}.{p.path}".rstrip("."), p.message) for p in from_validation(file, e)
                ]
    directory = Directory(
        version=str(doc.get("version") or ""),
        **{k: tuple(v) for k, v in valid.items()},
        **single,
    )
    problems += _check_references(directory, file, origin)
    if problems:
        raise ReferenceDataError(problems)
    return directory
