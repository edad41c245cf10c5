"""Who may see what. One table, enforced here and only here:

| viewer                   | tenants                 | price to platform    | price to reseller | reports           |
|--------------------------|-------------------------|----------------------|-------------------|-------------------|
| platform                 | all                     | all                  | all               | all               |
| reseller R               | R's dependent companies | of R's companies     | of R's companies  | all               |
| tenant T, direct         | T                       | T's (what it pays)   | -                 | all but resellers |
| tenant T, of a reseller  | T                       | never                | T's (what it pays)| all but resellers |

Cost (what suppliers charge the platform) and the platform's gross margin are the platform's alone: the
`margin` report is read by the platform scope only, and no other report carries a cost column.

Inside a scope, a role narrows the reports (the contact-center seed's billing roles): `billing_admin` and
`billing_viewer` read every report of the scope; `billing_units_viewer` and `billing_units_editor` read
`billing-units` and `allocation` only (no endpoint edits billing units yet: the editor role is reserved).

`tenants_for` turns a request's --tenant/--reseller into the tenants a report covers, or raises
`Forbidden` when the request reaches outside the scope. It does not tell whether an out-of-scope tenant
exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from omnimeter.errors import BadInput
from omnimeter.schemas.directory import Directory, Tenant


class Forbidden(BadInput):
    """The request reaches outside the caller's scope."""


class NotFound(BadInput):
    """The tenant or reseller is not in the directory."""


class Kind(StrEnum):
    PLATFORM = "platform"
    RESELLER = "reseller"
    TENANT = "tenant"


class Role(StrEnum):
    BILLING_ADMIN = "billing_admin"
    BILLING_VIEWER = "billing_viewer"
    BILLING_UNITS_VIEWER = "billing_units_viewer"
    BILLING_UNITS_EDITOR = "billing_units_editor"


UNIT_REPORTS = frozenset({"billing-units", "allocation"})
PLATFORM_REPORTS = frozenset({"margin"})  # cost and the platform's margin


@dataclass(frozen=True)
class Scope:
    kind: Kind
    id: str = ""
    role: Role = field(default=Role.BILLING_ADMIN, compare=False)

    @classmethod
    def parse(cls, text: str) -> Scope:
        """'platform', 'reseller:ID' or 'tenant:ID'."""
        kind, _, ident = text.partition(":")
        try:
            k = Kind(kind)
        except ValueError:
            raise ValueError(f"scope: expected platform, reseller:ID or tenant:ID, got {text!r}") from None
        if (k is Kind.PLATFORM) != (ident == ""):
            raise ValueError(f"scope: expected platform, reseller:ID or tenant:ID, got {text!r}")
        return cls(k, ident)

    def __str__(self) -> str:
        return self.kind.value if self.kind is Kind.PLATFORM else f"{self.kind.value}:{self.id}"

    def with_role(self, role: Role) -> Scope:
        return Scope(self.kind, self.id, role)

    def may_read(self, report: str) -> bool:
        """The reports this scope and role may read (see the table above)."""
        if report == "resellers" and self.kind is Kind.TENANT:
            return False
        if report in PLATFORM_REPORTS and self.kind is not Kind.PLATFORM:
            return False
        if self.role in (Role.BILLING_UNITS_VIEWER, Role.BILLING_UNITS_EDITOR):
            return report in UNIT_REPORTS
        return True

    def sees_price_to_platform(self, tenant: Tenant) -> bool:
        """The platform's price of `tenant`: the platform, the tenant's reseller, or a direct tenant itself
        (it is the price it pays); never a reseller's tenant."""
        if self.kind is Kind.PLATFORM:
            return True
        if self.kind is Kind.RESELLER:
            return tenant.reseller == self.id
        return tenant.id == self.id and not tenant.reseller

    def sees_both_prices(self, tenant: Tenant) -> bool:
        """Both prices of `tenant` under today's directory (reports decide by each line's own reseller)."""
        return self.sees_both_prices_of(tenant.reseller or "")

    def sees_both_prices_of(self, reseller_id: str) -> bool:
        """Both prices of lines rated for `reseller_id` (by the line, not by today's directory: a tenant
        that changed reseller keeps its history with the reseller it had)."""
        if not reseller_id:
            return False
        return self.kind is Kind.PLATFORM or (self.kind is Kind.RESELLER and self.id == reseller_id)

    def allows(self, tenant: Tenant) -> bool:
        if self.kind is Kind.PLATFORM:
            return True
        if self.kind is Kind.RESELLER:
            return tenant.reseller == self.id
        return tenant.id == self.id


PLATFORM = Scope(Kind.PLATFORM)


def tenants_for(
    directory: Directory, scope: Scope, tenant: str | None = None, reseller: str | None = None
) -> list[Tenant]:
    if tenant and reseller:
        raise ValueError("give --tenant or --reseller, not both")
    if tenant:
        t = directory.tenant(tenant)
        if t is None or not scope.allows(t):
            if scope.kind is Kind.PLATFORM:
                raise NotFound(f"tenant {tenant!r} is not in the directory")
            raise Forbidden(f"scope {scope} may not read tenant {tenant!r}")
        return [t]
    if reseller:
        if scope.kind is Kind.TENANT or (scope.kind is Kind.RESELLER and scope.id != reseller):
            raise Forbidden(f"scope {scope} may not read reseller {reseller!r}")
        if not any(r.id == reseller for r in directory.resellers):
            raise NotFound(f"reseller {reseller!r} is not in the directory")
        return [t for t in directory.tenants if t.reseller == reseller]
    return [t for t in directory.tenants if scope.allows(t)]
