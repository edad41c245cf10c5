"""WhatsApp per-message pricing (Meta, since 2025-07-01), as a pure state machine per conversation
(tenant, business account, contact).

* Only delivered template messages are charged, by template category and recipient country.
* Marketing and authentication templates are always charged; utility templates are free inside an open
  customer-service window (24 h from the customer's last inbound message).
* Everything is free inside a free-entry-point window: when a customer writes through a free entry point
  (click-to-WhatsApp ad, Facebook page call-to-action) and the business answers within 24 h, the next
  72 h from that answer are free.
* Provider-reported pricing (the webhook's ``pricing`` object) wins over the computed windows.

`step(state, event) -> (state, decision)` never mutates: the same sequence gives the same decisions.
State transitions are monotone (latest times win), so applying an event twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
FEP_REPLY_WITHIN = timedelta(hours=24)
FEP_WINDOW = timedelta(hours=72)
FREE_ENTRY_POINTS = frozenset({"ctwa_ad", "page_cta", "click_to_whatsapp", "fb_page_cta"})


class FreeReason(StrEnum):
    CUSTOMER_SERVICE_WINDOW = "customer_service_window"
    FREE_ENTRY_POINT = "free_entry_point"
    PROVIDER_FREE = "provider_not_billable"


@dataclass(frozen=True, slots=True)
class WindowState:
    last_inbound: datetime | None = None
    fep_inbound: datetime | None = None
    fep_opened: datetime | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            k: (v.isoformat() if v else None)
            for k, v in (
                ("last_inbound", self.last_inbound),
                ("fep_inbound", self.fep_inbound),
                ("fep_opened", self.fep_opened),
            )
        }

    @classmethod
    def from_dict(cls, d: dict[str, str | None]) -> WindowState:
        return cls(
            *(
                datetime.fromisoformat(d[k]) if d.get(k) else None  # type: ignore[arg-type]
                for k in ("last_inbound", "fep_inbound", "fep_opened")
            )
        )


@dataclass(frozen=True, slots=True)
class Decision:
    charged: bool
    category: str  # template category charged or waived; "" when not a template
    free_reason: str = ""


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def inbound(state: WindowState, at: datetime, entry_point: str | None = None) -> WindowState:
    """A customer's message: opens (or extends) the customer-service window."""
    state = replace(state, last_inbound=_later(state.last_inbound, at))
    if entry_point and entry_point.lower() in FREE_ENTRY_POINTS:
        state = replace(state, fep_inbound=_later(state.fep_inbound, at))
    return state


def outbound(state: WindowState, at: datetime) -> WindowState:
    """Any business message: the first answer within 24 h of a free-entry-point message opens 72 h free."""
    fep = state.fep_inbound
    if fep is not None and fep <= at <= fep + FEP_REPLY_WITHIN:
        if state.fep_opened is None or state.fep_opened < fep:
            return replace(state, fep_opened=at)
    return state


def in_fep_window(state: WindowState, at: datetime) -> bool:
    return state.fep_opened is not None and state.fep_opened <= at < state.fep_opened + FEP_WINDOW


def in_service_window(state: WindowState, at: datetime) -> bool:
    return state.last_inbound is not None and state.last_inbound <= at < state.last_inbound + CUSTOMER_SERVICE_WINDOW


def template_delivered(
    state: WindowState,
    at: datetime,
    category: str,
    provider_type: str | None = None,
    provider_category: str | None = None,
    provider_billable: bool | None = None,
) -> Decision:
    """Whether a delivered template is charged, and if not, why."""
    cat = provider_category or category
    if provider_billable is False:
        return Decision(False, cat, FreeReason.PROVIDER_FREE)
    if provider_type == "free_customer_service":
        return Decision(False, cat, FreeReason.CUSTOMER_SERVICE_WINDOW)
    if provider_type == "free_entry_point":
        return Decision(False, cat, FreeReason.FREE_ENTRY_POINT)
    if provider_type == "regular":
        return Decision(True, cat)
    if in_fep_window(state, at):
        return Decision(False, cat, FreeReason.FREE_ENTRY_POINT)
    if cat == "utility" and in_service_window(state, at):
        return Decision(False, cat, FreeReason.CUSTOMER_SERVICE_WINDOW)
    return Decision(True, cat)
