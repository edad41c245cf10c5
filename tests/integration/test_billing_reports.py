"""The billing reports of issue 17 through the real broker, worker and engine, with every expected amount
written by hand from the prices below (per_unit: quantity x unit price, rounded once half-up):

    books: direct       voice_assistant.operator.messages 0.10, sms.outbound.segments 0.50
           wholesale    voice_assistant.operator.messages 0.10, voice_assistant.user.messages 0.08
           retail (r1)  voice_assistant.operator.messages 0.25, voice_assistant.user.messages 0.06
    November 2026 (monthly cycles from 2026-01-01, UTC):
      direct: 5 operator messages with the voice assistant, 1 SMS (1 segment)
      sub (r1): 2 operator + 5 user messages with the voice assistant
      sub2 (r1): 5 user messages with the voice assistant

    reseller chat: sub  platform 2 x 0.10 + 5 x 0.08 = 0.60, reseller 2 x 0.25 + 5 x 0.06 = 0.80, margin 0.20
                   sub2 platform 5 x 0.08 = 0.40, reseller 5 x 0.06 = 0.30, margin -0.10 (negative)
                   totals platform 1.00, reseller 1.10, margin 0.10, one negative margin
    direct's cycle: commitment 4 operator messages, 5 used: 125.0 %, exceeded, overage 1,
                    overage cost 5 x 0.10 x 1/5 = 0.10; credit 0.40, SMS 0.50 spent: 125.0 %, overage 0.10;
                    the cycle is over, so the forecast is what was used
    direct's lines of voice_assistant.operator.: 5 lines, 0.50; 2 a page: 3 pages, the last with 1 line
    (line 0 of each event is the count voice_assistant.outbound.sent, line 1 the priced message)
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from omnimeter.cli.traffic import Record
from omnimeter.cli.workerproc import settings_env
from omnimeter.reports.catalog import run_report
from omnimeter.reports.model import Request
from omnimeter.reports.scope import NotFound, Scope
from omnimeter.settings import Settings
from tests.integration.test_cycle_adjustments import metered, sms_record

pytestmark = pytest.mark.integration
OPERATOR, USER = "voice_assistant.operator.messages", "voice_assistant.user.messages"
DIRECTORY = """
version: billing-1
resellers: [{id: r1, name: Reseller, currency: USD}]
tenants:
- {id: direct, name: Direct, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: monthly,
   commitments: [{meter: voice_assistant.operator.messages, included: 4}], carrier_credit: '0.40'}
- {id: sub, name: Sub, reseller: r1, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: monthly}
- {id: sub2, name: Sub two, reseller: r1, currency: USD, timezone: UTC, signup: '2026-01-01', cycle: monthly}
"""


def _book(audience: str, party: str, prices: dict[str, str]) -> dict[str, Any]:
    return {"id": f"{audience}-{party}", "version": "1", "effective_from": "2026-01-01T00:00:00Z",
            "audience": audience, "party": party, "billing": {},
            "prices": {m: {"unit": p} for m, p in prices.items()}}  # fmt: skip


def _va(tenant: str, n: int, kind: str) -> Record:
    at = datetime(2026, 11, 10, 12, tzinfo=UTC) + timedelta(minutes=n)
    data: dict[str, Any] = {"channel": "voice_assistant", "account": "alice", "contact": f"+5730{n:04d}"}
    if kind != "user":
        data["sender_kind"] = kind
    env = {"specversion": "1.0", "id": f"{tenant}-va-{n}", "source": "assistant",
           "type": "message.received" if kind == "user" else "message.sent", "time": at.isoformat(),
           "subject": tenant, "data": data}  # fmt: skip
    return Record(tenant.encode(), json.dumps(env).encode(), [])


def test_margins_voice_assistant_warnings_lines_and_events(settings: Settings, tmp_path: Path) -> None:
    books = [_book("direct", "platform", {OPERATOR: "0.10", "sms.outbound.segments": "0.50"}),
             _book("wholesale", "platform", {OPERATOR: "0.10", USER: "0.08"}),
             _book("retail", "r1", {OPERATOR: "0.25", USER: "0.06"})]  # fmt: skip
    recs = [_va("direct", n, "operator") for n in range(5)]
    recs += [_va("sub", n, "operator") for n in range(2)] + [_va("sub", 10 + n, "user") for n in range(5)]
    recs += [_va("sub2", n, "user") for n in range(5)]
    recs.append(sms_record("direct", "direct-sms-1", datetime(2026, 11, 11, 9, tzinfo=UTC)))
    store = metered(settings, tmp_path, DIRECTORY, books, recs)
    try:
        nov = {"start": "2026-11-01", "end": "2026-11-30"}
        resellers = run_report(store, "resellers", Request(**nov), Scope.parse("reseller:r1")).to_json()["sections"]
        chat = {r["company_id"]: r for r in resellers["chat"]}
        assert (chat["sub"]["operator_messages_voice_assistant"], chat["sub"]["user_messages_voice_assistant"],
                chat["sub"]["bot_messages_voice_assistant"]) == ("2", "5", "0")  # fmt: skip
        assert chat["sub"]["voice_assistant_messages_price"] == "0.80"
        assert (chat["sub"]["total_price_platform"], chat["sub"]["total_price_reseller"], chat["sub"]["margin"]) == (
            "0.60", "0.80", "0.20")  # fmt: skip
        assert (chat["sub2"]["total_price_platform"], chat["sub2"]["total_price_reseller"], chat["sub2"]["margin"]) == (
            "0.40", "0.30", "-0.10")  # fmt: skip
        (total,) = [t for t in resellers["totals"] if t["section"] == "chat"]
        assert (total["total_price_platform"], total["total_price_reseller"], total["margin"],
                total["negative_margins"], total["rows"]) == ("1.00", "1.10", "0.10", 1, 2)  # fmt: skip
        assert chat["sub"]["operator_messages"] == "0"  # the assistant's messages are not chat's

        cycle = run_report(store, "cycle", Request(tenant="direct", cycle="2026-11-15")).to_json()["sections"]
        commitment, credit = cycle["warnings"]
        assert (commitment["used"], commitment["limit"], commitment["used_percent"], commitment["level"],
                commitment["overage"], commitment["overage_cost"], commitment["forecast"]) == (
            "5", "4", "125.0", "exceeded", "1", "0.10", "5")  # fmt: skip
        assert (credit["used"], credit["limit"], credit["used_percent"], credit["level"], credit["overage_cost"]) == (
            "0.50", "0.40", "125.0", "exceeded", "0.10")  # fmt: skip
        assert cycle["navigation"] == [{"previous_cycle": "2026-10-01", "next_cycle": "2026-12-01", "state": "past"}]
        assert {t["party"]: t["charge"] for t in cycle["totals"]} == {"tenant": "1.00"}  # 0.50 + 0.50, direct

        def lines(page: int, scope: str = "platform", **kw: Any) -> dict[str, Any]:
            req = Request(**nov, tenant="direct", meter="voice_assistant.operator.", page=page, page_size=2, **kw)
            return run_report(store, "lines", req, Scope.parse(scope)).to_json()["sections"]

        first, last = lines(1), lines(3)
        assert first["summary"] == [{"lines": 5, "quantity": "5", "cost": "0.50", "adjustment": "0.00",
                                     "total": "0.50", "currency": "USD", "page": 1, "page_size": 2,
                                     "pages": 3}]  # fmt: skip
        assert len(first["lines"]) == 2 and len(last["lines"]) == 1
        assert first["lines"][0]["line_id"] == "assistant/direct-va-0/1"
        assert first["lines"][0]["price_platform"] == "0.100000" and first["lines"][0]["price_reseller"] is None

        event = run_report(store, "event", Request(line="assistant/direct-va-0/1")).to_json()["sections"]
        assert event["event"][0]["event_id"] == "direct-va-0" and event["event"][0]["type"] == "message.sent"
        assert json.loads(event["event"][0]["data"])["channel"] == "voice_assistant"
        with pytest.raises(NotFound):  # another tenant's line is not in a tenant's scope
            run_report(store, "event", Request(line="assistant/direct-va-0/1"), Scope.parse("tenant:sub"))

        mine = run_report(store, "lines", Request(**nov, meter="voice_assistant."), Scope.parse("tenant:sub"))
        rows = mine.to_json()["sections"]["lines"]
        assert rows and all(r["price_platform"] is None and r["price_reseller"] for r in rows)  # never the platform's
    finally:
        store.close()

    # the CLI (no worker holds the store now): the same pages, sizes and single-line look-up as the API
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**settings_env(settings), "COLUMNS": "400"}  # a wide terminal: the table's 18 columns unwrapped
        return subprocess.run([sys.executable, "-m", "omnimeter", "report", *args], capture_output=True, text=True,
                              env=env, timeout=120)  # fmt: skip

    base = ("lines", "--tenant", "direct", "--period", "custom", "--from", "2026-11-01", "--to", "2026-11-30",
            "--meter", "voice_assistant.operator.", "--page-size", "2")  # fmt: skip
    done = cli(*base, "--page", "3", "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)["sections"]
    assert doc["summary"][0]["page"] == 3 and doc["summary"][0]["pages"] == 3 and len(doc["lines"]) == 1
    assert doc["lines"] == last["lines"]
    done = cli(*base, "--format", "csv")
    assert done.returncode == 0, done.stderr
    listed = [r for r in csv.reader(io.StringIO(done.stdout)) if r[0] == "lines"]
    assert [r[1] for r in listed] == [r["line_id"] for r in first["lines"]]
    table = cli(*base, "--page", "2")
    assert table.returncode == 0 and "assistant/direct-va-2/1" in table.stdout, table.stderr
    done = cli("lines", "--line", "assistant/direct-va-0/1", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sections"]["event"][0]["event_id"] == "direct-va-0"
    refused = cli(*base, "--page-size", "501")
    assert refused.returncode == 2 and "--page-size" in refused.stderr
