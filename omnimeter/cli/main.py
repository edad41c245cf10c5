"""The `omnimeter` command line. Configuration comes from flags or OMNIMETER_* environment variables.

Errors meant for users (bad configuration, a broker that will not start, a store that cannot open) are
printed as one clear message with exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from omnimeter.errors import OmnimeterError
from omnimeter.settings import Settings, load_settings

_REPORT_NAMES = ("users", "services", "usage", "whatsapp", "resellers", "billing-units", "allocation", "cycle",
                 "margin", "lines", "event")  # fmt: skip


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        data_dir=getattr(args, "data_dir", None),
        kafka__bootstrap=getattr(args, "bootstrap", None),
        clickhouse__url=getattr(args, "clickhouse_url", None),
    )


def cmd_kafka(args: argparse.Namespace) -> int:
    from omnimeter.streams.kafka_admin import ensure_topics, topic_specs

    settings = _settings(args)
    if args.action == "topics":  # any broker, e.g. in docker-compose
        created = ensure_topics(settings.kafka, topic_specs(settings.topics))
        print(f"created: {', '.join(created) or 'none (all exist)'}")
        return 0
    from omnimeter.cli.localkafka import LocalKafka

    kafka = LocalKafka.from_bootstrap(settings.data_dir, settings.cache_dir, settings.kafka.bootstrap)
    if args.action == "up":
        print(f"starting Apache Kafka (first run downloads it with Maven into {kafka.cache_dir})", file=sys.stderr)
        bootstrap = kafka.up()
        created = ensure_topics(bootstrap, topic_specs(settings.topics))
        if created:
            print(f"created topics: {', '.join(created)}", file=sys.stderr)
        print(bootstrap)
    elif args.action == "down":
        print("stopped" if kafka.down() else "not running")
    else:
        status = kafka.status()
        print(json.dumps(status, indent=2))
        return 0 if status["answering"] else 1
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from omnimeter.cli.worker import run_worker

    run_worker(_settings(args), loglevel=args.loglevel)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from omnimeter.cli.simulate import produce
    from omnimeter.cli.traffic import Traffic, build_world, records

    settings = _settings(args)
    if args.seed is None:
        args.seed = int(datetime.now(UTC).timestamp())
    count = args.count or int(args.rate * args.duration)
    rate = args.rate if not args.count else 0.0
    step = timedelta(seconds=1 / rate) if rate else timedelta(milliseconds=5)
    start = datetime.now(UTC) - (step * count if not rate else timedelta(0))
    traffic = Traffic(build_world(args.seed, args.tenants), seed=args.seed, start=start, step=step)
    recs = records(
        traffic, count, batch_size=args.batch_size, duplicate_rate=args.duplicates, malformed_rate=args.malformed
    )
    ledger = produce(
        recs,
        settings.kafka,
        settings.topics.usage,
        rate=rate / max(args.batch_size, 1),
        total=None,
        show_progress=not args.quiet,
    )
    print(
        json.dumps(
            {
                "records": ledger.records,
                "distinct_events": len(ledger.valid),
                "duplicate_sends": ledger.duplicate_sends,
                "malformed": dict(ledger.malformed),
            }
        )
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from omnimeter.cli.demo import run_demo

    return run_demo(_settings(args), seconds=args.seconds, rate=args.rate, fmt=args.format)


def cmd_apply(args: argparse.Namespace) -> int:
    from pathlib import Path

    from omnimeter.cli.reference_file import read_reference_file
    from omnimeter.streams.reference import publish

    settings = _settings(args)
    path = Path(args.file)
    kind = "directory" if args.command == "directory" else "prices"
    text = read_reference_file(path)  # refused in one line before reading a file over the size bound
    version = publish(settings.kafka, settings.topics.reference, kind, text, str(path))
    print(f"applied {kind} version {version} from {path}")
    return 0


def cmd_rate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from omnimeter.cli.offline_rate import run_rate

    return run_rate(Path(args.prices), Path(args.directory), Path(args.events), args.format, args.lines, sys.stdout)


def cmd_summary(args: argparse.Namespace) -> int:
    from omnimeter.reports.billing_summary import billing_summary
    from omnimeter.reports.ingest_summary import ingest_summary
    from omnimeter.reports.render import Format, render
    from omnimeter.sinks.clickhouse import connect

    settings = _settings(args)
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        print(render(ingest_summary(store) + billing_summary(store), Format(args.format)))
    finally:
        store.close()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from omnimeter.cli.status import status
    from omnimeter.reports.render import Format, render

    settings = _settings(args)
    url = args.worker or f"http://127.0.0.1:{settings.worker.web_port}"
    print(render(status(settings, url, args.interval), Format(args.format)))
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    doc = settings.masked()
    if not settings.api.secret.get_secret_value():
        doc["api"]["secret"] = f"(from {settings.data_dir / 'api_secret'})"
    print(json.dumps(doc, indent=2))
    return 0


def _report_request(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from decimal import Decimal, InvalidOperation

    from omnimeter.reports.lines_report import MAX_PAGE_SIZE
    from omnimeter.reports.model import Request
    from omnimeter.reports.period import GroupBy

    try:
        amount = Decimal(args.amount) if args.amount is not None else None
    except InvalidOperation:
        raise OmnimeterError(f"--amount: expected a decimal number, got {args.amount!r}") from None
    for name, value, high in (("--page", args.page, 1_000_000), ("--page-size", args.page_size, MAX_PAGE_SIZE)):
        if value is not None and not 1 <= value <= high:
            raise OmnimeterError(f"{name}: expected a whole number from 1 to {high}, got {value}")
    if args.name == "lines" and args.line:
        args.name = "event"  # a single line: the API's event report (the line and its stored event)
    return Request(
        tenant=args.tenant, reseller=args.reseller, period=args.period, start=args.start, end=args.end,
        group_by=GroupBy(args.group_by), tz=args.tz, amount=amount, by=args.by, meter=args.meter,
        currency=args.currency, cycle=args.cycle, with_expenses=args.with_expenses, service=args.service,
        page=args.page, page_size=args.page_size, line=args.line,
    )  # fmt: skip


def cmd_report(args: argparse.Namespace) -> int:
    from omnimeter.reports.catalog import run_report
    from omnimeter.reports.render import Format, render_report
    from omnimeter.reports.scope import Forbidden, NotFound
    from omnimeter.sinks.clickhouse import connect
    from omnimeter.sinks.exceptions import SinkError
    from omnimeter.sinks.rollups import refresh_quietly

    settings = _settings(args)
    request = _report_request(args)
    try:
        store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    except SinkError:
        if not settings.resolved_clickhouse_url.startswith("chdb:"):
            raise
        return _report_from_worker(settings, args, request)
    try:
        refresh_quietly(store, _zones(store))  # a crashed worker may have left the last lines
        doc = run_report(store, args.name, request).to_json()
    except (ValueError, Forbidden, NotFound) as e:
        raise OmnimeterError(str(e)) from None
    finally:
        store.close()
    print(render_report(doc, Format(args.format)), end="")
    return 0


def _zones(store) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from omnimeter.reports.reference import NoReferenceData, load_reference

    try:
        return load_reference(store).directory.time_zones()
    except NoReferenceData:
        return {}


def _report_from_worker(settings: Settings, args: argparse.Namespace, request: object) -> int:
    """The embedded store is held by a running worker: ask its reports API (same code, same answer) with
    the caller's token (--token or OMNIMETER_API_TOKEN), so the answer has the token's scope; the CLI never
    grants itself one."""
    import urllib.error
    import urllib.parse
    import urllib.request

    from omnimeter.reports.render import Format, render_report

    base = f"http://127.0.0.1:{settings.worker.web_port}/api/v1/reports/{urllib.parse.quote(args.name)}"
    params = {k: v for k, v in {
        "tenant": args.tenant, "reseller": args.reseller, "period": args.period, "from": args.start, "to": args.end,
        "group_by": args.group_by, "tz": args.tz, "amount": args.amount, "by": args.by, "meter": args.meter,
        "currency": args.currency, "cycle": args.cycle, "with_expenses": "true" if args.with_expenses else None,
        "service": args.service, "page": args.page, "page_size": args.page_size, "line": args.line,
    }.items() if v is not None}  # fmt: skip
    token = args.token or os.environ.get("OMNIMETER_API_TOKEN", "")
    if not token:
        raise OmnimeterError(
            "the store is held by a running worker: ask it with a token, e.g. "
            "`OMNIMETER_API_TOKEN=$(omnimeter token --scope platform --days 1) omnimeter report ...` "
            "(or --token T), or stop the worker"
        )
    req = urllib.request.Request(
        f"{base}?{urllib.parse.urlencode(params)}", headers={"Authorization": f"Bearer {token}"}
    )
    print(f"(the store is held by a running worker: asking it at {base})", file=sys.stderr)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            doc = json.load(resp)
    except urllib.error.HTTPError as e:
        raise OmnimeterError(json.load(e).get("error", str(e))) from None
    except OSError as e:
        raise OmnimeterError(f"the store is locked and no worker answers at {base}: {e}") from None
    print(render_report(doc, Format(args.format)), end="")
    return 0


def _utc_range(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """--from/--to of an operator command: dates (UTC days, both included) or ISO date-times (`to` excluded)."""
    from omnimeter.reports.period import PeriodError, resolve

    try:
        period = resolve("custom", start, end, "UTC")
    except PeriodError as e:
        raise OmnimeterError(str(e)) from None
    first = period.start or datetime.combine(period.first, datetime.min.time(), UTC)
    last = period.end or datetime.combine(period.last + timedelta(days=1), datetime.min.time(), UTC)
    return first, last


def cmd_rebuild(args: argparse.Namespace) -> int:
    from omnimeter.cli.rebuild import print_progress, rebuild
    from omnimeter.reports.render import Format, render
    from omnimeter.reports.section import Section
    from omnimeter.sinks.clickhouse import connect

    settings = _settings(args)
    start, end = _utc_range(args.start, args.end)
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        done = rebuild(store, start, end, args.price_book, args.tenant or (), print_progress())
    finally:
        store.close()
    rows = [
        (d.tenant, d.start.isoformat(), d.end.isoformat(), d.events, d.lines_before, d.lines_after,
         d.platform_before, d.platform_after, d.reseller_before, d.reseller_after)
        for d in done
    ]  # fmt: skip
    cols = ("tenant", "from", "to", "events", "lines_before", "lines_after", "platform_before", "platform_after",
            "reseller_before", "reseller_after")  # fmt: skip
    print(render([Section("rebuilt (whole billing cycles)", cols, rows)], Format(args.format)), end="")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from omnimeter.cli.reconcile import reconcile
    from omnimeter.reports.reference import NoReferenceData, load_reference
    from omnimeter.reports.render import Format, render
    from omnimeter.reports.section import Section
    from omnimeter.sinks.clickhouse import connect

    settings = _settings(args)
    start, end = _utc_range(args.start, args.end) if args.start or args.end else (None, None)
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        try:
            tenants = [t.id for t in load_reference(store).directory.tenants]
        except NoReferenceData:
            tenants = []
        k = settings.kafka
        kafka = None if args.no_kafka else (k, k.consumer_group, settings.topics.usage)
        diffs = reconcile(store, tenants, start, end, kafka)
    finally:
        store.close()
    if diffs:
        print(render([Section("differences", ("check", "detail"), [(d.check, d.detail) for d in diffs])],
                     Format(args.format)), end="")  # fmt: skip
        print(f"omnimeter: {len(diffs)} difference(s)", file=sys.stderr)
        return 1
    print("reconciled: no differences (Kafka offsets, raw_events, billable_lines, rollups)")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from omnimeter.reports.scope import Role, Scope
    from omnimeter.reports.tokens import claims_of, issue, keyring_for, revoke, rotate

    settings = _settings(args)
    if args.action == "rotate":
        if settings.api.secret.get_secret_value():
            raise OmnimeterError(
                "token rotate: the key is OMNIMETER_API_SECRET; set a new one and add the old one to "
                "OMNIMETER_API_PREVIOUS_SECRETS so tokens it signed keep working"
            )
        print(f"new signing key {rotate(settings.data_dir)}; tokens of the previous key still verify")
        return 0
    if args.action == "revoke":
        if not args.jti:
            raise OmnimeterError("token revoke: give --jti (the `jti` that `omnimeter token` printed)")
        revoke(settings.data_dir, args.jti)
        print(f"revoked token {args.jti}")
        return 0
    try:
        scope = Scope.parse(args.scope or "")
        role = Role(args.role)
    except ValueError as e:
        raise OmnimeterError(str(e)) from None
    ring = keyring_for(settings)
    token = issue(ring, scope, args.days * 86_400, subject=args.subject, role=role)
    claims = claims_of(ring, token)
    print(token)
    print(f"jti {claims['jti']} · {scope} · {role.value} · expires {claims['exp']}", file=sys.stderr)
    return 0


def cmd_store(args: argparse.Namespace) -> int:
    from omnimeter.sinks.clickhouse import connect
    from omnimeter.sinks.shared import serve_store, store_key

    settings = _settings(args)
    url = settings.resolved_clickhouse_url
    if not url.startswith("chdb://"):
        raise OmnimeterError(f"store serve shares an embedded chdb store; the configured store is {url}")
    store = connect(url, settings.clickhouse.database)
    key = store_key(settings.data_dir)
    server = serve_store(store.client, "127.0.0.1", args.port, key, settings.clickhouse.database)
    print(
        f"sharing {url} at omnimeter://127.0.0.1:{server.server_address[1]} (clients on this host with the same "
        f"data dir use the key in {settings.data_dir / 'store_key'}; others put it in the URL: "
        f"omnimeter://omnimeter:KEY@127.0.0.1:{server.server_address[1]})",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        store.close()
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from omnimeter.reports.webapp import openapi

    print(json.dumps(openapi(), indent=2, ensure_ascii=False))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import signal

    from omnimeter.reports.api import Backend
    from omnimeter.reports.tokens import keyring_for
    from omnimeter.reports.webapp import build_app
    from omnimeter.sinks.clickhouse import connect
    from omnimeter.sinks.rollups import refresh_quietly
    from omnimeter.streams.control import control_router
    from omnimeter.streams.webserver import WebServer

    settings = _settings(args)
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        refresh_quietly(store, _zones(store))
        secret = keyring_for(settings)
        app = build_app(Backend(store, secret), [control_router(lambda _token: (403, "nothing to control here"))])
        server = WebServer(app, args.host or settings.worker.host, args.port, settings.http)
        host, port = server.address
        print(f"reports API on http://{host}:{port}/api/v1, dashboard on http://{host}:{port}/ui", file=sys.stderr,
              flush=True)  # fmt: skip
        # uvicorn stops gracefully on SIGTERM, then raises the signal again for the handler it found: a no-op
        # here, so the store is closed and the command ends with 0 (SIGINT still ends it with 130)
        signal.signal(signal.SIGTERM, lambda _sig, _frame: None)
        server.run()
    finally:
        store.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="omnimeter", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="where Kafka and ClickHouse keep data (OMNIMETER_DATA_DIR)")
    common.add_argument("--bootstrap", help="Kafka bootstrap host:port (OMNIMETER_KAFKA_BOOTSTRAP)")
    common.add_argument("--clickhouse-url", help="chdb://PATH or http(s)://HOST:PORT (OMNIMETER_CLICKHOUSE_URL)")
    sub = p.add_subparsers(dest="command", required=True)

    k = sub.add_parser("kafka", parents=[common], help="the local single-node Kafka broker")
    k.add_argument("action", choices=["up", "down", "status", "topics"], help="topics: create missing topics")
    k.set_defaults(func=cmd_kafka)

    w = sub.add_parser("worker", parents=[common], help="consume, validate, dedupe and store usage events")
    w.add_argument("--loglevel", default="warning", choices=["debug", "info", "warning", "error"])
    w.set_defaults(func=cmd_worker)

    s = sub.add_parser("simulate", parents=[common], help="produce realistic generated traffic")
    s.add_argument("--rate", type=float, default=200.0, help="events per second")
    s.add_argument("--duration", type=float, default=10.0, help="seconds")
    s.add_argument("--count", type=int, default=0, help="events to send as fast as possible (overrides rate)")
    s.add_argument("--batch-size", type=int, default=1, help="events per batch record (1: single records)")
    s.add_argument("--duplicates", type=float, default=0.0, help="share of events resent, e.g. 0.03")
    s.add_argument("--malformed", type=float, default=0.0, help="share of malformed records, e.g. 0.01")
    s.add_argument("--tenants", type=int, default=6)
    s.add_argument("--seed", type=int, default=None, help="same seed, same event ids (default: from the clock)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_simulate)

    d = sub.add_parser("demo", parents=[common], help="Kafka + worker + generated traffic, then a summary")
    d.add_argument("--seconds", type=float, default=15.0)
    d.add_argument("--rate", type=float, default=400.0, help="events per second")
    d.add_argument("--format", choices=["table", "json", "csv"], default="table")
    d.set_defaults(func=cmd_demo)

    for name, what in (("directory", "tenants, users, accounts, billing units"), ("prices", "price books")):
        ap = sub.add_parser(name, parents=[common], help=f"validate and publish {what} to every worker")
        ap.add_argument("action", choices=["apply"])
        ap.add_argument("file")
        ap.set_defaults(func=cmd_apply)

    rt = sub.add_parser("rate", help="rate a JSONL file of events offline, with the stream's code")
    rt.add_argument("--prices", required=True, help="price books YAML")
    rt.add_argument("--directory", required=True, help="directory YAML")
    rt.add_argument("--events", required=True, help="JSONL: one record value (envelope or batch) per line")
    rt.add_argument("--format", choices=["jsonl", "json", "table", "csv"], default="jsonl")
    rt.add_argument("--lines", action="store_true", help="table/csv: list every billable line too")
    rt.set_defaults(func=cmd_rate)

    r = sub.add_parser("summary", parents=[common], help="what the pipeline stored, dropped and dead-lettered")
    r.add_argument("--format", choices=["table", "json", "csv"], default="table")
    r.set_defaults(func=cmd_summary)

    st = sub.add_parser("status", parents=[common], help="lag, throughput, freshness and errors on one screen")
    st.add_argument("--worker", help="worker metrics URL (default http://127.0.0.1:OMNIMETER_WORKER_WEB_PORT)")
    st.add_argument("--interval", type=float, default=2.0, help="seconds between the two samples")
    st.add_argument("--format", choices=["table", "json", "csv"], default="table")
    st.set_defaults(func=cmd_status)

    rp = sub.add_parser("report", parents=[common], help="an administrators' report (an estimate)")
    rp.add_argument("name", choices=list(_REPORT_NAMES))
    rp.add_argument(
        "--token", help="a reports API token, when a running worker holds the store (or OMNIMETER_API_TOKEN)"
    )
    rp.add_argument("--tenant")
    rp.add_argument("--reseller")
    rp.add_argument("--period", help="today (default), this-week, this-month, custom")
    rp.add_argument("--from", dest="start", help="custom: YYYY-MM-DD (local day) or an ISO date-time")
    rp.add_argument("--to", dest="end", help="custom: YYYY-MM-DD (included) or an ISO date-time (excluded)")
    rp.add_argument("--group-by", choices=["day", "week", "month"], default="month")
    rp.add_argument("--tz", help="time zone of the period (default: the tenant's, else UTC)")
    rp.add_argument("--amount", help="allocation: the amount to split, e.g. 1200")
    rp.add_argument("--by", choices=["billing_unit", "team", "queue", "bot_id"], help="allocation: cost centers")
    rp.add_argument("--meter", help="allocation: meter or meter prefix giving the shares (default whatsapp.template.)")
    rp.add_argument("--currency", help="allocation: currency of the amount (default: the tenant's)")
    rp.add_argument("--cycle", help="cycle: a date inside the cycle (default: the current one)")
    rp.add_argument("--with-expenses", action="store_true", help="resellers: only companies with expenses")
    rp.add_argument("--service", help="lines: only the meters of this service (a service of the services report)")
    rp.add_argument("--page", type=int, help="lines: the page (1-based)")
    rp.add_argument("--page-size", type=int, help="lines: lines per page (default 50, at most 500)")
    rp.add_argument(
        "--line", help="event (or lines: the same): one line (source/event_id/line_index) and its stored event"
    )
    rp.add_argument("--format", choices=["table", "json", "csv"], default="table")
    rp.set_defaults(func=cmd_report)

    rb = sub.add_parser("rebuild", parents=[common], help="re-rate stored events, recompute rollups (stop workers)")
    rb.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD or ISO date-time (UTC)")
    rb.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (included) or ISO date-time (excluded)")
    rb.add_argument("--price-book", help="prices version (prefix) from `reference_versions`; default the newest")
    rb.add_argument("--tenant", action="append", help="only this tenant (repeatable)")
    rb.add_argument("--format", choices=["table", "json", "csv"], default="table")
    rb.set_defaults(func=cmd_rebuild)

    rc = sub.add_parser(
        "reconcile", parents=[common], help="check every record is accounted for; exit 1 on a difference"
    )
    rc.add_argument("--from", dest="start", help="events from YYYY-MM-DD or ISO date-time (UTC)")
    rc.add_argument("--to", dest="end", help="events to YYYY-MM-DD (included) or ISO date-time (excluded)")
    rc.add_argument("--no-kafka", action="store_true", help="skip the Kafka offsets check")
    rc.add_argument("--format", choices=["table", "json", "csv"], default="table")
    rc.set_defaults(func=cmd_reconcile)

    tk = sub.add_parser("token", parents=[common], help="issue, revoke or rotate reports API tokens (JWT)")
    tk.add_argument("action", nargs="?", choices=["issue", "revoke", "rotate"], default="issue")
    tk.add_argument("--scope", help="platform, reseller:ID or tenant:ID (issue)")
    tk.add_argument(
        "--role",
        default="billing_admin",
        choices=["billing_admin", "billing_viewer", "billing_units_viewer", "billing_units_editor"],
    )
    tk.add_argument("--subject", help="who the token is for (its `sub`; default: the scope)")
    tk.add_argument("--days", type=float, default=30, help="valid for this many days (default 30, at most 366)")
    tk.add_argument("--jti", help="the id of the token to revoke (revoke)")
    tk.set_defaults(func=cmd_token)

    sv = sub.add_parser("serve", parents=[common], help="the reports API alone (no worker holds the store)")
    sv.add_argument("--host")
    sv.add_argument("--port", type=int, default=6067)
    sv.set_defaults(func=cmd_serve)

    ss = sub.add_parser("store", parents=[common], help="share the embedded chdb store with several processes")
    ss.add_argument("action", choices=["serve"])
    ss.add_argument("--port", type=int, default=6070, help="127.0.0.1 port; processes use omnimeter://127.0.0.1:PORT")
    ss.set_defaults(func=cmd_store)

    oa = sub.add_parser("openapi", help="print the reports API's OpenAPI document")
    oa.set_defaults(func=cmd_openapi)

    c = sub.add_parser("config", parents=[common], help="configuration")
    c.add_argument("action", choices=["check"])
    c.set_defaults(func=cmd_config_check)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except OmnimeterError as e:
        print(f"omnimeter: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
