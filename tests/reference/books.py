"""Small hand-written directories and price books for the reference vectors, and a way to rate events
through the public offline path (`pricing.rating.rate_all`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from omnimeter.pricing.books import PriceBooks, parse_price_books
from omnimeter.pricing.rating import BillableLine, rate_all
from omnimeter.schemas.directory import parse_directory
from omnimeter.schemas.events import UsageEvent
from omnimeter.schemas.parse import Accepted, parse_record

DIRECTORY = parse_directory(
    """
version: ref-1
resellers: [{id: r1, name: Reseller, currency: USD}]
tenants:
- {id: direct, name: Direct, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: monthly}
- {id: sub, name: Of a reseller, reseller: r1, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: monthly}
""",
    "ref-directory.yaml",
)
EFFECTIVE = "2026-01-01T00:00:00Z"
AT = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def books(*docs: dict[str, Any]) -> PriceBooks:
    return parse_price_books(json.dumps({"books": list(docs)}), "ref-prices.yaml")


def book(audience: str, prices: dict[str, Any], billing: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    party = kw.pop("party", "r1" if audience == "retail" else "platform")
    return {"id": f"{audience}-{party}", "version": "1", "effective_from": EFFECTIVE, "audience": audience,
            "party": party, "billing": billing or {}, "prices": prices, **kw}  # fmt: skip


def event(tenant: str, type_: str, data: dict[str, Any], n: int = 0, at: datetime = AT) -> UsageEvent:
    env = {"specversion": "1.0", "id": f"e{n}", "source": "ref", "type": type_, "time": at.isoformat(),
           "subject": tenant, "data": data}  # fmt: skip
    out = parse_record(json.dumps(env).encode(), at + timedelta(days=400))[0]
    assert isinstance(out, Accepted), out
    return out.event


def call(tenant: str, seconds: int, direction: str = "outbound", answered: bool = True, n: int = 0) -> UsageEvent:
    return event(tenant, "call.completed", {"direction": direction, "account": "+15550001", "contact": "+15551234",
                                            "answered": answered, "duration_s": seconds}, n)  # fmt: skip


def rate(events: list[UsageEvent], price_books: PriceBooks) -> list[BillableLine]:
    return rate_all(events, price_books, DIRECTORY)


def by_meter(lines: list[BillableLine]) -> dict[str, list[BillableLine]]:
    out: dict[str, list[BillableLine]] = {}
    for ln in lines:
        out.setdefault(ln.meter, []).append(ln)
    return out
