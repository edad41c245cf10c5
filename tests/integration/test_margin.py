"""Cost and gross margin through the real broker, worker and engine, with hand-computed numbers.

Books (November 2026, every tenant in UTC): the platform charges direct tenants 0.0500 per SMS segment
and resellers 0.0400 (wholesale); reseller r1 charges its tenant 0.0600. The SMS aggregator's cost book
charges per segment by destination prefix: +1 0.0079, +447 0.0350. A provider-reported price on the event
(Twilio's status callback `Price`) wins over the cost book.

Traffic and the expected figures, by hand:
    direct: 10 one-segment SMS to +1: price 10 x 0.05 = 0.50, cost 10 x 0.0079 = 0.079
            1 SMS of 161 GSM-7 characters (2 segments) to +44 7700: price 0.10, cost 2 x 0.0350 = 0.07
            total price 0.60, cost 0.149 -> 0.15, margin 0.45 (75.0 %)
    sub:    2 one-segment SMS to +1: price to platform 2 x 0.04 = 0.08, cost 0.0158
            1 one-segment SMS to +1 whose provider reported 0.0900: price 0.04, cost 0.09, margin -0.05
            total price 0.12, cost 0.1058 -> 0.11, margin 0.01; one negative-margin line
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from omnimeter.cli.traffic import Record
from omnimeter.reports.catalog import run_report
from omnimeter.reports.model import Request
from omnimeter.reports.scope import Forbidden, Scope
from omnimeter.settings import Settings
from tests.integration.test_cycle_adjustments import DIRECTORY, metered

pytestmark = pytest.mark.integration
SMS = "sms.outbound.segments"


def _book(audience: str, party: str, price: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{audience}-{party}", "version": "1", "effective_from": "2026-01-01T00:00:00Z",
            "audience": audience, "party": party, "billing": {}, "prices": {SMS: price}}  # fmt: skip


BOOKS = [
    _book("direct", "platform", {"unit": "0.0500"}),
    _book("wholesale", "platform", {"unit": "0.0400"}),
    _book("retail", "r1", {"unit": "0.0600"}),
    _book("cost", "aggregator", {"by_prefix": {"1": "0.0079", "447": "0.0350"}}),
]


def _sms(tenant: str, n: int, contact: str, country: str, body: str = "hi", **extra: Any) -> Record:
    env = {"specversion": "1.0", "id": f"{tenant}-{n}", "source": "sms-gateway", "type": "message.sent",
           "time": datetime(2026, 11, 2 + n, 12, tzinfo=UTC).isoformat(), "subject": tenant,
           "data": {"channel": "sms", "account": "+15550001", "contact": contact, "country": country,
                    "sender_kind": "operator", "body": body, **extra}}  # fmt: skip
    return Record(tenant.encode(), json.dumps(env).encode(), [])


def _records() -> list[Record]:
    recs = [_sms("direct", n, "+15551000", "US") for n in range(10)]
    recs.append(_sms("direct", 10, "+447700900123", "GB", "a" * 161))
    recs += [_sms("sub", n, "+15552000", "US") for n in range(2)]
    recs.append(_sms("sub", 2, "+15552000", "US", provider_price={"amount": "0.0900", "currency": "USD"}))
    return recs


def test_margin_report_per_tenant_reseller_destination_and_cycle(settings: Settings, tmp_path: Path) -> None:
    store = metered(settings, tmp_path, DIRECTORY, BOOKS, _records())
    try:
        doc = run_report(store, "margin", Request(start="2026-11-01", end="2026-11-30")).to_json()
        s = doc["sections"]
        pick = ("price_platform", "cost", "margin", "margin_percent", "negative_lines")
        tenants = {r["tenant_id"]: tuple(r[k] for k in pick) for r in s["by_tenant"]}
        assert tenants == {"direct": ("0.60", "0.15", "0.45", "75.0", 0), "sub": ("0.12", "0.11", "0.01", "8.3", 1)}
        resellers = {r["reseller_id"]: (r["price_platform"], r["cost"], r["margin"]) for r in s["by_reseller"]}
        assert resellers == {"(direct)": ("0.60", "0.15", "0.45"), "r1": ("0.12", "0.11", "0.01")}
        # destinations: US 0.50 + 0.08 + 0.04 = 0.62 against 0.079 + 0.0158 + 0.09 = 0.1848; GB 0.10 against 0.07
        dest = {
            (r["channel"], r["country"]): (r["price_platform"], r["cost"], r["margin"]) for r in s["by_destination"]
        }
        assert dest == {("sms", "US"): ("0.62", "0.18", "0.44"), ("sms", "GB"): ("0.10", "0.07", "0.03")}
        cycles = {
            r["tenant_id"]: (r["cycle_start"], r["price_platform"], r["cost"], r["margin"]) for r in s["by_cycle"]
        }
        assert cycles == {
            "direct": ("2026-11-01", "0.60", "0.15", "0.45"),
            "sub": ("2026-11-01", "0.12", "0.11", "0.01"),
        }
        (neg,) = s["negative_lines"]
        assert (neg["tenant_id"], neg["line"], neg["price_platform"], neg["cost"], neg["margin"]) == (
            "sub", "sms-gateway/sub-2/1", "0.04", "0.09", "-0.05",
        )  # fmt: skip

        # nobody but the platform sees cost or the platform's margin
        for scope in ("reseller:r1", "tenant:sub", "tenant:direct"):
            with pytest.raises(Forbidden):
                run_report(store, "margin", Request(start="2026-11-01", end="2026-11-30"), Scope.parse(scope))
            for name in ("services", "usage", "users", "billing-units", "cycle", "whatsapp"):
                tenant = "sub" if scope != "tenant:direct" else "direct"
                text = json.dumps(
                    run_report(
                        store, name, Request(start="2026-11-01", end="2026-11-30", tenant=tenant), Scope.parse(scope)
                    ).to_json()
                )
                assert "cost_amount" not in text and "0.0079" not in text and "price_platform" not in text, name
        # a line's event, as the tenant sees it, does not say what the supplier charged
        ask = Request(start="2026-11-01", end="2026-11-30", tenant="sub", line="sms-gateway/sub-2/1")
        seen = json.dumps(run_report(store, "event", ask, Scope.parse("tenant:sub")).to_json())
        assert "provider_price" not in seen and "0.0900" not in seen
        assert "provider_price" in json.dumps(run_report(store, "event", ask).to_json())  # the platform sees it
    finally:
        store.close()
