"""The reports over HTTP: ``GET /api/v1/reports/{name}`` with a bearer token, JSON (or ``format=csv``).

Served by the worker's HTTP endpoint (the process that holds an embedded chdb store) and by
`omnimeter serve` (a ClickHouse server, or a store no worker holds). Every request but the OpenAPI
document needs ``Authorization: Bearer <token>``; a token's scope limits the tenants a report covers and
anything outside it answers 403 with no data. Parameters are bound, never spliced into SQL.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from omnimeter.errors import OmnimeterError
from omnimeter.reports.catalog import REPORTS, UnknownReport, run_report
from omnimeter.reports.model import Request
from omnimeter.reports.openapi import openapi
from omnimeter.reports.period import GroupBy
from omnimeter.reports.render import Format, render_report
from omnimeter.reports.scope import Forbidden, NotFound
from omnimeter.reports.tokens import InvalidToken, Keyring, verify
from omnimeter.sinks.clickhouse import ClickHouseStore

log = logging.getLogger(__name__)
PREFIX = "/api/v1"
PARAMS = ("tenant", "reseller", "period", "from", "to", "group_by", "tz", "amount", "by", "meter", "currency",
          "cycle", "with_expenses", "format")  # fmt: skip
Answer = tuple[int, str, bytes]


def _json(code: int, doc: Any) -> Answer:
    return code, "application/json", json.dumps(doc, ensure_ascii=False).encode()


def _error(code: int, message: str, parameter: str | None = None) -> Answer:
    return _json(code, {"error": message, **({"parameter": parameter} if parameter else {})})


def request_of(query: dict[str, list[str]]) -> Request:
    unknown = sorted(set(query) - set(PARAMS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown parameter (known: {', '.join(PARAMS)})")
    q = {k: v[-1] for k, v in query.items()}
    amount = None
    if "amount" in q:
        try:
            amount = Decimal(q["amount"])
        except InvalidOperation:
            raise ValueError(f"amount: expected a decimal number, got {q['amount']!r}") from None
    try:
        group_by = GroupBy(q.get("group_by", "month"))
    except ValueError:
        raise ValueError(f"group_by: expected day, week or month, got {q['group_by']!r}") from None
    return Request(
        tenant=q.get("tenant"), reseller=q.get("reseller"), period=q.get("period"), start=q.get("from"),
        end=q.get("to"), group_by=group_by, tz=q.get("tz"), amount=amount, by=q.get("by"), meter=q.get("meter"),
        currency=q.get("currency"), cycle=q.get("cycle"),
        with_expenses=q.get("with_expenses", "false").lower() in ("1", "true", "yes"),
    )  # fmt: skip


class ReportsAPI:
    def __init__(self, store: ClickHouseStore, secret: bytes | Keyring) -> None:
        self.store = store
        self.secret = secret

    def handle(self, path: str, headers: dict[str, str]) -> Answer:
        url = urlsplit(path)
        route = url.path.rstrip("/")
        if route == f"{PREFIX}/openapi.json":
            return _json(200, openapi())
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return _error(401, "missing bearer token (Authorization: Bearer <token>)")
        try:
            scope = verify(self.secret, auth[7:].strip())
        except InvalidToken as e:
            return _error(401, f"invalid token: {e}")
        if route == f"{PREFIX}/whoami":
            return _json(200, {"scope": str(scope)})
        if route == f"{PREFIX}/reports":
            return _json(200, {"reports": [{"name": n, "description": d} for n, (_b, d) in REPORTS.items()]})
        if not route.startswith(f"{PREFIX}/reports/"):
            return _error(404, f"no such path: {url.path}")
        name = route.removeprefix(f"{PREFIX}/reports/")
        query = parse_qs(url.query, keep_blank_values=False)
        try:
            fmt = Format(query.get("format", ["json"])[-1])
            if fmt is Format.TABLE:
                raise ValueError("format: json or csv")
            doc = run_report(self.store, name, request_of(query), scope).to_json()
        except Forbidden as e:
            return _error(403, str(e))
        except (UnknownReport, NotFound) as e:
            return _error(404, str(e))
        except (ValueError, OmnimeterError) as e:
            msg = str(e)
            return _error(400, msg, msg.split(":", 1)[0] if ":" in msg else None)
        except Exception:
            log.exception("report %s failed", name)
            return _error(500, "the report failed; see the server log")
        if fmt is Format.CSV:
            return 200, "text/csv; charset=utf-8", render_report(doc, fmt).encode()
        return _json(200, doc)
