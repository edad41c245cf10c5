"""The reports on the real broker and engine: 40 days of generated traffic through Kafka and a worker.

Every report's totals are checked against offline `omnimeter rate` of the same records (which the rating
test already holds equal to billable_lines) and, with the worker stopped, against billable_lines directly;
grouping by week and month follows each tenant's time zone; the reseller report matches per-company sums
of both prices; a new event shows within 5 s; tokens are held to their scope; every JSON answer validates
against the OpenAPI document.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from omnimeter.cli.offline_rate import rate_file
from omnimeter.cli.simulate import Ledger
from omnimeter.cli.traffic import Traffic, build_world, directory_doc, records
from omnimeter.cli.workerproc import WorkerProcess, settings_env, wait_caught_up
from omnimeter.pricing.books import parse_price_books
from omnimeter.pricing.cycle_charges import cycle_charges
from omnimeter.pricing.money import round_money
from omnimeter.pricing.rating import BillableLine
from omnimeter.reports.period import GroupBy, bucket_start
from omnimeter.reports.scope import Scope
from omnimeter.reports.services import service_of
from omnimeter.reports.tokens import issue, load_secret
from omnimeter.reports.webapp import openapi
from omnimeter.schemas.directory import Directory, parse_directory
from omnimeter.settings import Settings
from tests.conftest import free_port
from tests.integration.isolated import apply_reference, isolated_settings
from tests.integration.rating_check import REF, write_jsonl
from tests.kafka_io import produce_plain

pytestmark = pytest.mark.integration
TENANTS = 6
DAYS = 40
ZERO = Decimal(0)


@dataclass
class Pipeline:
    settings: Settings
    worker: WorkerProcess
    directory: Directory
    lines: list[BillableLine]
    first: date
    last: date

    def token(self, scope: str) -> str:
        return issue(load_secret(self.settings.data_dir, self.settings.api.secret), Scope.parse(scope))

    def get(self, path: str, token: str | None = None, port: int | None = None, **params: Any) -> tuple[int, Any]:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url = f"http://127.0.0.1:{port or self.settings.worker.web_port}/api/v1/{path}?{query}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def report(self, name: str, scope: str = "platform", **params: Any) -> dict[str, Any]:
        params.setdefault("period", "custom")
        params.setdefault("from", self.first.isoformat())
        params.setdefault("to", self.last.isoformat())
        code, doc = self.get(f"reports/{name}", self.token(scope), **params)
        assert code == 200, doc
        return doc


def cost(ln: BillableLine) -> Decimal:
    return ln.amount_reseller if ln.reseller_id else ln.amount_platform


def usd(x: Decimal) -> str:
    return str(round_money(x, "USD"))


def num(x: Decimal) -> str:
    return str(x.quantize(Decimal(1)) if x == x.to_integral_value() else x.normalize())


@pytest.fixture(scope="module")
def pipeline(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    tmp = tmp_path_factory.mktemp("reports")
    settings = isolated_settings(kafka, tmp, "reports")
    world = build_world(11, TENANTS)
    dfile = tmp / "directory.yaml"
    apply_reference(settings, directory_doc(world), dfile)
    n = 9_000
    start = datetime.now(UTC) - timedelta(days=DAYS)
    traffic = Traffic(world, seed=23, start=start, step=timedelta(days=DAYS - 1) / (n * 1.05))
    recs = list(records(traffic, n, batch_size=20, batch_share=0.5, duplicate_rate=0.02, malformed_rate=0.01))
    write_jsonl(recs, tmp / "events.jsonl")
    books = parse_price_books((REF / "prices.yaml").read_text())
    directory = parse_directory(dfile.read_text())
    lines = rate_file(tmp / "events.jsonl", books, directory, err=io.StringIO())
    produce_plain(settings.kafka.bootstrap, settings.topics.usage, recs, Ledger())
    worker = WorkerProcess(settings).start()
    p = Pipeline(settings, worker, directory, lines, (start - timedelta(days=1)).date(),
                 (datetime.now(UTC) + timedelta(days=1)).date())  # fmt: skip
    try:
        wait_caught_up(settings, timeout_s=240, worker=worker)
        expected = sum(1 for _ in lines)
        deadline = time.monotonic() + 30
        while True:  # the rollups follow the flush within a second or two
            rows = p.report("services")["sections"]["by_meter"]
            _, whole = p.get("reports/users", p.token("platform"), period="custom", **{"from": p.first, "to": p.last})
            if sum(r["activity"] for r in whole["sections"]["users"]) + _userless(lines) == expected or (
                time.monotonic() > deadline
            ):
                break
            time.sleep(0.5)
        assert rows
        yield p
    finally:
        worker.stop()


def _userless(lines: list[BillableLine]) -> int:
    return sum(1 for ln in lines if not ln.user_id)


def test_services_and_users_equal_offline_rating(pipeline: Pipeline) -> None:
    for tenant in pipeline.directory.tenants:
        mine = [ln for ln in pipeline.lines if ln.tenant_id == tenant.id]
        want_q: dict[str, Decimal] = defaultdict(lambda: ZERO)
        want_c: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for ln in mine:
            if service_of(ln.meter):
                want_q[ln.meter] += ln.quantity
                want_c[ln.meter] += cost(ln)
        doc = pipeline.report("services", tenant=tenant.id)
        got = {r["meter"]: (r["quantity"], r["cost"]) for r in doc["sections"]["by_meter"]}
        assert got == {m: (num(want_q[m]), usd(want_c[m])) for m in want_q}, tenant.id
        assert doc["freshness"]["newest_event"] is not None and doc["estimate"] is True

        users = pipeline.report("users", tenant=tenant.id)["sections"]
        per_user: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for ln in mine:
            if ln.user_id:
                per_user[ln.user_id][0] += 1
                per_user[ln.user_id][1] += cost(ln)
        got_users = {r["user_id"]: (r["activity"], r["cost"]) for r in users["users"] if r["activity"]}
        assert got_users == {u: (int(n), usd(c)) for u, (n, c) in per_user.items()}
        channels: dict[tuple[str, str], int] = defaultdict(int)
        for ln in mine:
            if ln.user_id:
                channels[(ln.user_id, ln.channel or "(none)")] += 1
        assert {(r["user_id"], r["channel"]): r["activity"] for r in users["user_channels"]} == channels
        roles = {r["role"]: r["users"] for r in users["users_by_role"]}
        assert sum(roles.values()) == sum(1 for u in pipeline.directory.users if u.tenant == tenant.id)


@pytest.mark.parametrize("group_by", ["week", "month"])
def test_usage_grouped_in_the_tenants_time_zone(pipeline: Pipeline, group_by: str) -> None:
    g = GroupBy(group_by)
    shifted = 0
    for tenant in pipeline.directory.tenants:
        zone = ZoneInfo(tenant.timezone)
        want: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
        for ln in pipeline.lines:
            s = service_of(ln.meter)
            if ln.tenant_id == tenant.id and s:
                local = ln.event_time.astimezone(zone).date()
                want[(s.name, bucket_start(local, g).isoformat())] += cost(ln)
                shifted += bucket_start(local, g) != bucket_start(ln.event_time.astimezone(UTC).date(), g)
        doc = pipeline.report("usage", tenant=tenant.id, group_by=group_by)
        got = {(r["service"], r["period"]): r["cost"] for r in doc["sections"]["usage"] if r["cost"] != "0.00"}
        assert got == {k: usd(v) for k, v in want.items() if usd(v) != "0.00"}, tenant.id
        assert doc["period"]["time_zone"] == tenant.timezone
    assert shifted > 0, "some lines fall in another week/month in UTC than locally: the test can tell them apart"


def test_reseller_report_matches_per_company_sums_of_both_prices(pipeline: Pipeline) -> None:
    resellers = sorted({t.reseller for t in pipeline.directory.tenants if t.reseller})
    assert resellers
    for reseller in resellers:
        doc = pipeline.report("resellers", scope=f"reseller:{reseller}", reseller=reseller)
        companies = {r["company_id"]: r for r in doc["sections"]["companies"]}
        mine = [t.id for t in pipeline.directory.tenants if t.reseller == reseller]
        assert sorted(companies) == sorted(mine)
        for company in mine:
            lines = [ln for ln in pipeline.lines if ln.tenant_id == company]
            for party in ("platform", "reseller"):  # each meter (an invoice line) rounded once, then summed
                per_meter: dict[str, Decimal] = defaultdict(lambda: ZERO)
                for ln in lines:
                    per_meter[ln.meter] += getattr(ln, f"amount_{party}")
                want = sum((Decimal(usd(v)) for v in per_meter.values()), ZERO)
                assert Decimal(companies[company][f"total_price_{party}"]) == want, (company, party)
            calls = sum(1 for ln in lines if ln.meter == "voice.outbound.seconds")
            phone = {r["direction"]: r for r in doc["sections"]["telephony"] if r["company_id"] == company}
            assert phone["outbound"]["calls"] == calls
            bot = next(r for r in doc["sections"]["bot"] if r["company_id"] == company)
            bot_lines = [ln for ln in lines if ln.meter == "bot.billable_messages"]
            assert bot["total_price_reseller"] == usd(sum((ln.amount_reseller for ln in bot_lines), ZERO))
            sms = next(r for r in doc["sections"]["text_messaging"] if r["company_id"] == company)
            delivered = sum(ln.quantity for ln in lines if ln.meter == "sms.outbound.delivered")
            assert sms["delivered_sms"] == num(Decimal(delivered))


def test_whatsapp_billing_units_allocation_and_cycle_add_up(pipeline: Pipeline) -> None:
    tenant = pipeline.directory.tenants[1]
    mine = [ln for ln in pipeline.lines if ln.tenant_id == tenant.id]
    wa = pipeline.report("whatsapp", tenant=tenant.id, group_by="month")["sections"]
    inbound: dict[str, Decimal] = defaultdict(lambda: ZERO)
    free: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for ln in mine:
        if ln.meter == "whatsapp.inbound.messages":
            inbound[ln.account] += ln.quantity
        if ln.meter.startswith("whatsapp.template.") and ln.free_reason:
            free[ln.account] += ln.quantity
    got_in: dict[str, Decimal] = defaultdict(lambda: ZERO)
    got_free: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for r in wa["messages"]:
        got_in[r["account"]] += Decimal(r["inbound"])
        got_free[r["account"]] += Decimal(r["templates_free"])
    nonzero = lambda d: {k: v for k, v in d.items() if v}  # noqa: E731
    assert nonzero(got_in) == nonzero(inbound) and nonzero(got_free) == nonzero(free)

    units = pipeline.report("billing-units", tenant=tenant.id)["sections"]["by_unit"]
    per_meter: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for ln in mine:
        per_meter[ln.meter] += cost(ln)
    invoice = sum((round_money(v, "USD") for v in per_meter.values()), ZERO)  # rounded once per invoice line
    assert sum(Decimal(r["cost"]) for r in units) == invoice
    assert len(units) >= 3

    for by, meter in (("billing_unit", "whatsapp."), ("team", "voice."), ("queue", "voice."), ("bot_id", "chat.bot")):
        doc = pipeline.report("allocation", tenant=tenant.id, amount="1200", by=by, meter=meter)
        parts = doc["sections"]["allocation"]
        assert sum(Decimal(r["amount"]) for r in parts) == Decimal("1200.00"), by
        assert len(parts) >= 2

    cyc = pipeline.report("cycle", tenant=tenant.id)
    assert cyc["period"]["kind"] == "cycle"
    start = datetime.fromisoformat(cyc["period"]["from"])
    in_cycle = [ln for ln in mine if ln.event_time >= start]
    charges = {r["meter"]: r["lines_amount"] for r in cyc["sections"]["charges"]}
    want: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for ln in in_cycle:
        want[ln.meter] += cost(ln)
    assert {m: usd(v) for m, v in want.items() if m in charges} == charges
    used = sum(ln.quantity for ln in in_cycle if ln.meter == "whatsapp.template.marketing" and not ln.free_reason)
    commitment = cyc["sections"]["commitments"][0]
    assert commitment["used"] == num(Decimal(used)) and commitment["included"] == "500"
    assert cyc["sections"]["credit"][0]["credit"] == "250.00"

    # Cycle charges for both parties, from the store, equal those of the offline lines of this cycle; the
    # tenant itself sees only the price it pays.
    books = parse_price_books((REF / "prices.yaml").read_text())
    cycle_start = max(ln.cycle_start for ln in mine)  # the latest cycle with traffic (the current may have none)
    cyc = pipeline.report("cycle", tenant=tenant.id, cycle=(cycle_start + timedelta(days=1)).isoformat())
    assert datetime.fromisoformat(cyc["sections"]["cycle"][0]["cycle_start"]).date() == cycle_start
    offline = {c.meter: c for c in cycle_charges([ln for ln in mine if ln.cycle_start == cycle_start], books)}
    by_party = cyc["sections"]["charges_by_party"]
    assert offline and by_party and {r["meter"] for r in by_party} <= set(offline)
    for r in by_party:
        c = offline[r["meter"]]
        assert (r["charge_platform"], r["adjustment_platform"]) == (usd(c.platform.charge), usd(c.platform.adjustment))
        if c.reseller is not None:
            assert r["charge_reseller"] == usd(c.reseller.charge)
    pays = {r["meter"]: r["estimated_amount"] for r in cyc["sections"]["charges"]}
    for meter, amount in pays.items():
        c = offline[meter]
        assert amount == usd((c.reseller or c.platform).charge if tenant.reseller else c.platform.charge)
    own = pipeline.report("cycle", scope=f"tenant:{tenant.id}", tenant=tenant.id, cycle=cycle_start.isoformat())
    assert own["sections"]["charges"] == cyc["sections"]["charges"] and own["sections"]["charges_by_party"] == []


def test_tokens_are_held_to_their_scope(pipeline: Pipeline) -> None:
    tenants = pipeline.directory.tenants
    direct = next(t for t in tenants if not t.reseller)
    reseller = next(t.reseller for t in tenants if t.reseller)
    assert reseller is not None
    other = next(t for t in tenants if t.reseller and t.reseller != reseller)
    own = pipeline.token(f"tenant:{direct.id}")
    for params in ({"tenant": other.id}, {"reseller": reseller}):
        code, doc = pipeline.get("reports/services", own, **params)
        assert code == 403 and "sections" not in doc, doc
    code, doc = pipeline.get("reports/services", own, period="this-month")
    assert code == 200 and doc["tenants"] == [direct.id]

    rtok = pipeline.token(f"reseller:{reseller}")
    code, doc = pipeline.get("reports/resellers", rtok, period="this-month")
    assert code == 200
    assert {r["company_id"] for r in doc["sections"]["companies"]} == {t.id for t in tenants if t.reseller == reseller}
    for params in ({"tenant": direct.id}, {"tenant": other.id}, {"reseller": other.reseller}):
        code, doc = pipeline.get("reports/users", rtok, **params)
        assert code == 403 and "sections" not in doc, doc
    assert pipeline.get("reports/services", None)[0] == 401
    assert pipeline.get("reports/services", own[:-2] + "xx")[0] == 401
    code, doc = pipeline.get("reports/services", own, period="yesterday")
    assert code == 400 and doc["parameter"] == "period"
    code, doc = pipeline.get("reports/services", own, tenant="x' OR 1=1 --")
    assert code == 403


def _registry() -> Registry:  # type: ignore[type-arg]
    resource = Resource.from_contents(openapi(), default_specification=DRAFT202012)
    return Registry().with_resource("urn:omnimeter:openapi", resource)


@pytest.mark.parametrize(
    "name,params",
    [
        ("users", {}), ("services", {}), ("usage", {"group_by": "week"}), ("whatsapp", {}),
        ("resellers", {"with_expenses": "true"}), ("billing-units", {}),
        ("allocation", {"amount": "1200", "by": "billing_unit"}), ("cycle", {}),
    ],
)  # fmt: skip
def test_every_report_answers_in_its_documented_shape(pipeline: Pipeline, name: str, params: dict[str, str]) -> None:
    tenant = pipeline.directory.tenants[1]
    if name != "resellers":
        params = {**params, "tenant": tenant.id}
    doc = pipeline.report(name, **params)
    registry = _registry()
    ref = f"urn:omnimeter:openapi#/components/schemas/report_{name.replace('-', '_')}"
    Draft202012Validator({"$ref": ref}, registry=registry).validate(doc)
    assert any(doc["sections"].values()), f"{name}: every section empty"


def test_a_new_event_shows_in_the_reports_within_5_s(pipeline: Pipeline) -> None:
    from confluent_kafka import Producer

    tenant = pipeline.directory.tenants[0]
    token = pipeline.token(f"tenant:{tenant.id}")
    before = pipeline.get("reports/services", token, period="today")[1]
    minutes = {r["meter"]: Decimal(r["quantity"]) for r in before["sections"]["by_meter"]}.get("video.minutes", ZERO)
    now = datetime.now(UTC)
    event = {
        "specversion": "1.0", "id": f"fresh-{uuid.uuid4()}", "source": "test/video", "type": "video_call.completed",
        "time": now.isoformat(timespec="milliseconds"), "subject": tenant.id, "datacontenttype": "application/json",
        "data": {"duration_s": 3600, "user_id": "nobody"},
    }  # fmt: skip
    producer = Producer({"bootstrap.servers": pipeline.settings.kafka.bootstrap})
    producer.produce(pipeline.settings.topics.usage, json.dumps(event).encode(), tenant.id.encode())
    producer.flush(10)
    sent = time.monotonic()
    while time.monotonic() - sent < 10:
        doc = pipeline.get("reports/services", token, period="today")[1]
        got = {r["meter"]: Decimal(r["quantity"]) for r in doc["sections"]["by_meter"]}.get("video.minutes", ZERO)
        if got == minutes + 60:
            break
        time.sleep(0.1)
    took = time.monotonic() - sent
    print(f"\nproduced → visible in the services report: {took:.2f} s")
    assert got == minutes + 60
    assert took < 5.0
    assert doc["freshness"]["newest_event"] >= now.isoformat(timespec="seconds")[:19]


def test_the_cli_reads_the_store_through_the_running_worker_with_the_callers_token(pipeline: Pipeline) -> None:
    tenant, other = pipeline.directory.tenants[2], pipeline.directory.tenants[3]
    cmd = [sys.executable, "-m", "omnimeter", "report", "services", "--tenant", tenant.id, "--period", "custom",
           "--from", pipeline.first.isoformat(), "--to", pipeline.last.isoformat(), "--format", "json"]  # fmt: skip
    env = settings_env(pipeline.settings)
    env.pop("OMNIMETER_API_TOKEN", None)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode != 0 and "token" in out.stderr and "Traceback" not in out.stderr  # no self-granted scope
    mine = {**env, "OMNIMETER_API_TOKEN": pipeline.token(f"tenant:{tenant.id}")}
    out = subprocess.run(cmd, capture_output=True, text=True, env=mine, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["sections"] == pipeline.report("services", tenant=tenant.id)["sections"]
    theirs = [*cmd[:6], other.id, *cmd[7:]]
    out = subprocess.run(theirs, capture_output=True, text=True, env=mine, timeout=120)
    assert out.returncode != 0 and "may not read" in out.stderr  # the token's scope holds


def _strings(doc: Any) -> Iterator[str]:
    if isinstance(doc, dict):
        for v in doc.values():
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)
    elif isinstance(doc, str):
        yield doc


def _platform_values(doc: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [(s, k, v) for s, rows in doc.get("sections", {}).items() for r in rows for k, v in r.items()
            if "platform" in k and v not in (None, "")]  # fmt: skip


def test_every_documented_endpoint_holds_every_scope_to_its_own_numbers(pipeline: Pipeline) -> None:
    """Generated from the OpenAPI document (a new report is covered without editing this test): every
    report x the platform, two resellers, a direct tenant and two resellers' tenants x no filter, every
    tenant, every reseller and both at once. An answer never holds another party's id, name, users or
    billing units, never price to platform for a reseller's tenant; what is refused has no data."""
    doc = openapi()
    d = pipeline.directory
    resellers = sorted({t.reseller for t in d.tenants if t.reseller})
    direct = next(t for t in d.tenants if not t.reseller)
    retail = [next(t for t in d.tenants if t.reseller == r) for r in resellers[:2]]
    assert len(resellers) >= 2 and len(retail) == 2
    scopes = ["platform", *(f"reseller:{r}" for r in resellers[:2]), f"tenant:{direct.id}",
              *(f"tenant:{t.id}" for t in retail)]  # fmt: skip
    names = {t.id: t.name for t in d.tenants} | {r.id: r.name for r in d.resellers}  # a name may be ""
    fixed = {"period": "custom", "from": pipeline.first.isoformat(), "to": pipeline.last.isoformat(),
             "group_by": "month", "amount": "1200", "by": "billing_unit", "meter": "whatsapp."}  # fmt: skip
    endpoints = [(path, op) for path, item in doc["paths"].items() for method, op in item.items()
                 if method == "get" and path.startswith("/api/v1/reports/") and "{" not in path]  # fmt: skip
    assert len(endpoints) >= 8
    checked = answered = 0
    for path, op in endpoints:
        params = {p["name"] for p in op.get("parameters", [])}
        combos: list[dict[str, str]] = [{}]
        if "tenant" in params:
            combos += [{"tenant": t.id} for t in d.tenants]
        if "reseller" in params:
            combos += [{"reseller": r} for r in resellers]
        if {"tenant", "reseller"} <= params:
            combos.append({"tenant": direct.id, "reseller": resellers[0]})
        for scope_text in scopes:
            scope = Scope.parse(scope_text)
            mine = {t.id for t in d.tenants if scope.allows(t)}
            own_resellers = {t.reseller for t in d.tenants if t.id in mine and t.reseller}
            allowed = mine | own_resellers
            others = {x for x in names if x not in allowed}
            reseller_tenant = scope.kind.value == "tenant" and any(t.reseller for t in d.tenants if t.id in mine)
            token = pipeline.token(scope_text)
            for combo in combos:
                query = {k: v for k, v in fixed.items() if k in params} | combo
                code, answer = pipeline.get(path.removeprefix("/api/v1/"), token, **query)
                where = f"{path} {scope_text} {combo}"
                checked += 1
                assert code in (200, 400, 403, 404), (where, code, answer)
                if code != 200:
                    assert "sections" not in answer and set(answer) <= {"error", "parameter"}, where
                    continue
                answered += 1
                assert set(answer["tenants"]) <= mine, where
                theirs = others | {names[o] for o in others if names[o]}
                leaked = {v for v in _strings(answer) if v in theirs or any(v.startswith(f"{o}-") for o in others)}
                assert not leaked, (where, sorted(leaked)[:5])
                if reseller_tenant:
                    assert not _platform_values(answer), (where, _platform_values(answer)[:3])
    print(f"\nscope matrix: {checked} requests, {answered} answered with data")
    assert answered > len(endpoints) * len(scopes)  # most combinations answer: the checks above ran


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def test_a_1000_year_day_grouped_report_answers_400_at_once_and_memory_stays_flat(pipeline: Pipeline) -> None:
    assert pipeline.worker.proc is not None
    pid, token = pipeline.worker.proc.pid, pipeline.token("platform")
    before = _rss_kib(pid)
    for name, params in (("usage", {"group_by": "day"}), ("whatsapp", {"group_by": "day"}), ("services", {})):
        t0 = time.monotonic()
        code, doc = pipeline.get(f"reports/{name}", token, period="custom", **{"from": "1971-01-01",
                                 "to": "2149-01-01"}, **params)  # 178 years  # fmt: skip
        took = time.monotonic() - t0
        assert code == 400 and doc["parameter"] == "period" and "sections" not in doc, doc
        assert took < 1.0, took
    code, doc = pipeline.get("reports/usage", token, period="custom", **{"from": "1026-01-01", "to": "2026-01-01"})
    assert code == 400 and doc["parameter"] == "from", doc  # before the store's first day
    code, doc = pipeline.get("reports/usage", token, period="custom", group_by="day",
                             **{"from": "2021-01-01", "to": "2025-12-31"})  # fmt: skip
    assert code == 400 and doc["parameter"] == "group_by", doc  # five years fit, 1826 daily buckets do not
    assert _rss_kib(pid) - before < 50_000, (before, _rss_kib(pid))  # under 50 MB more: nothing was built


def test_with_the_worker_stopped_reports_equal_billable_lines_and_rebuild_repeats_exactly(pipeline: Pipeline) -> None:
    """Last in this module: stops the worker to open the store."""
    from omnimeter.reports.catalog import run_report
    from omnimeter.reports.model import Request
    from omnimeter.sinks.clickhouse import connect

    assert pipeline.worker.stop() == 0, pipeline.worker.log_tail()
    s = pipeline.settings
    rng = {"period": "custom", "start": pipeline.first.isoformat(), "end": pipeline.last.isoformat()}

    def snapshot() -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
        store = connect(s.resolved_clickhouse_url, s.clickhouse.database)
        try:
            lines = {
                (t, m): (q, c)
                for t, m, q, c in store.query_rows(
                    f"SELECT tenant_id, meter, sum(quantity), sum(if(reseller_id != '', amount_reseller, "
                    f"amount_platform)) FROM {store.db}.billable_lines GROUP BY tenant_id, meter"
                )
            }
            rollup = {
                (t, m): (q, c)
                for t, m, q, c in store.query_rows(
                    f"SELECT tenant_id, meter, sum(quantity), sum(if(reseller_id != '', amount_reseller, "
                    f"amount_platform)) FROM {store.db}.rollup_day FINAL GROUP BY tenant_id, meter"
                )
            }
            reports = {
                t.id: run_report(store, "services", Request(tenant=t.id, **rng)).to_json()["sections"]["by_meter"]
                for t in pipeline.directory.tenants
            }
        finally:
            store.close()
        return lines, rollup, reports

    lines, rollup, reports = snapshot()
    assert lines == rollup
    for tenant, rows in reports.items():
        for r in rows:
            q, c = lines[(tenant, r["meter"])]
            assert (r["quantity"], r["cost"]) == (num(Decimal(q)), usd(Decimal(c)))
    rebuild = [sys.executable, "-m", "omnimeter", "rebuild", "--from", pipeline.first.isoformat(), "--to",
               pipeline.last.isoformat(), "--format", "json"]  # fmt: skip
    for _ in range(2):
        out = subprocess.run(rebuild, capture_output=True, text=True, env=settings_env(s), timeout=300)
        assert out.returncode == 0, out.stderr
        assert "[6/6]" in out.stderr  # progress per tenant
        again = snapshot()
        assert again == (lines, rollup, reports)


def test_omnimeter_serve_answers_the_reports_once_no_worker_holds_the_store(pipeline: Pipeline) -> None:
    """After the test above stopped the worker: `omnimeter serve` opens the store and answers the same API
    (offline rating's numbers), with the security headers, and stops cleanly on SIGTERM."""
    assert not pipeline.worker.alive()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "omnimeter", "serve", "--port", str(port)],
                            env=settings_env(pipeline.settings), stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ui/signin", timeout=2) as r:
                    assert r.status == 200 and "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "omnimeter serve did not answer"
                time.sleep(0.3)
        tenant = pipeline.directory.tenants[3]
        token = pipeline.token(f"tenant:{tenant.id}")
        code, doc = pipeline.get("reports/services", token, port, period="custom", **{
            "from": pipeline.first.isoformat(), "to": pipeline.last.isoformat()})  # fmt: skip
        assert code == 200, doc
        want_q: dict[str, Decimal] = defaultdict(lambda: ZERO)
        want_c: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for ln in pipeline.lines:
            if ln.tenant_id == tenant.id and service_of(ln.meter):
                want_q[ln.meter] += ln.quantity
                want_c[ln.meter] += cost(ln)
        got = {r["meter"]: (r["quantity"], r["cost"]) for r in doc["sections"]["by_meter"]}
        assert got == {m: (num(want_q[m]), usd(want_c[m])) for m in want_q}
        other = next(t for t in pipeline.directory.tenants if t.id != tenant.id)
        code, doc = pipeline.get("reports/services", token, port, tenant=other.id)
        assert code == 403 and "sections" not in doc
        assert pipeline.get("reports/services", None, port)[0] == 401
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "omnimeter.access who=tenant:" in err and token not in err
