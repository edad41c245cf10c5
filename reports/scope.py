"""Who may see what: a scope is the platform, one reseller (its dependent companies) or one tenant.

`tenants_for` turns a request's --tenant/--reseller into the tenants a report covers, or raises
`Forbidden` when the request reaches outside the scope. It does not tell whether an out-of-scope tenant
exists.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Scope:
    kind: Kind
    id: str = ""

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
