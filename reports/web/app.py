"""The dashboard under /ui (FastAPI routes, Jinja2 templates with autoescape): sign in with a scoped token
(kept in an HttpOnly, SameSite=Strict cookie, Secure under https), then server-rendered pages built from
the same reports as the JSON API, so their numbers are the API's to the cent.

Forms that change state carry a CSRF token: the sign-in form a signed nonce also set as a cookie (double
submit), the sign-out form (POST only) a MAC of the session. Assets (CSS, JS, Chart.js from
reports/web/node_modules) are served locally: the page needs no internet, and the CSP allows nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends
from fastapi import Request as HttpRequest
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from omnimeter.errors import OmnimeterError
from omnimeter.reports import labels
from omnimeter.reports.api import Backend, backend, who
from omnimeter.reports.catalog import run_report
from omnimeter.reports.reference import load_reference
from omnimeter.reports.render import Format, render_report
from omnimeter.reports.scope import Forbidden, NotFound, Scope
from omnimeter.reports.tokens import InvalidToken, Keyring
from omnimeter.reports.web.billing_pages import BILLING_PAGES, STATEMENT_SECTIONS
from omnimeter.reports.web.cells import CURRENCY, local_time, number, present
from omnimeter.reports.web.cells import cell as cell_of
from omnimeter.reports.web.pages import PAGE_BUILDERS, PAGE_REPORT, PAGES, TITLES, Page, request_of
from omnimeter.reports.web.presets import api_query, dtlocal

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
ASSETS = {
    "app.css": (HERE / "static" / "app.css", "text/css"),
    "app.js": (HERE / "static" / "app.js", "text/javascript"),
    "billing.css": (HERE / "static" / "billing.css", "text/css"),
    "billing.js": (HERE / "static" / "billing.js", "text/javascript"),
    "chart.umd.js": (HERE / "node_modules" / "chart.js" / "dist" / "chart.umd.js", "text/javascript"),
}
COOKIE = "omnimeter_token"
CSRF_COOKIE = "omnimeter_csrf"
NAV_KEEP = ("period", "from", "to", "group_by", "tenant", "reseller", "tz")
BUILDERS = {**PAGE_BUILDERS, **BILLING_PAGES}
BILLING_TITLES = {"statement": "Statement preview", "lines": "Billable lines", "event": "Line and event"}


def _numclass(v: Any) -> str:
    s = str(v)
    return "num" if s.replace(".", "", 1).replace("-", "", 1).isdigit() else ""


FIELDS = ("period", "from", "to", "tz", "group_by", "tenant", "reseller", "amount", "by", "meter", "cycle")
FIELD_ALIASES = {"time_zone": "tz", "scope": "tenant"}
CLI_WORDS = (
    (re.compile(r";?\s*give --tenant or --reseller, not both"), "; choose a tenant or a reseller, not both"),
    (re.compile(r";\s*give --tenant\b"), "; choose a tenant"),
    (re.compile(r"\s*\(e\.g\. --amount (\S+)\)"), r" (e.g. \1)"),
    (re.compile(r"--from/--to"), "From/Until"),
    (re.compile(r"--(\w+)"), r"\1"),
)
AMOUNT_HINT = "use a point for decimals and no thousands separators, e.g. 1200.00"


def field_errors(message: str) -> dict[str, str]:
    """A report's error ("field: what is wrong") as the message to show beside that field of the form
    ("" for the form as a whole), in the dashboard's words rather than the CLI's."""
    for pattern, words in CLI_WORDS:
        message = pattern.sub(words, message)
    name, sep, rest = message.partition(":")
    name = FIELD_ALIASES.get(name.strip(), name.strip())
    if not sep or name not in FIELDS:
        return {"": message}
    rest = rest.strip()
    if name == "amount" and "expected a decimal number" in rest:
        rest = f"{rest}; {AMOUNT_HINT}"
    return {name: rest[:1].upper() + rest[1:]}


def zones(tenants: list[str], chosen: str) -> list[str]:
    """The time zones the filters offer: UTC, the tenants' own, a few common ones and the one chosen."""
    common = ("Europe/London", "Europe/Madrid", "America/New_York", "America/Sao_Paulo", "Asia/Kolkata")
    found = dict.fromkeys(["UTC", *sorted(tenants), *common])
    if chosen:
        found[chosen] = None
    return list(found)


def _script_json(doc: object) -> Markup:
    """JSON safe inside a <script> data block (no entity decoding there; no way to close the element)."""
    return Markup(json.dumps(doc).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined,
    finalize=lambda v: "" if v is None else v, trim_blocks=False,
)  # fmt: skip
templates.filters["numclass"] = _numclass
templates.filters["script_json"] = _script_json
templates.filters["dtlocal"] = dtlocal
templates.globals["present"] = present
templates.globals["drill"] = {}  # links from totals to their lines (reports/web/pages.py Page.drill)
templates.globals["humanize"] = labels.humanize
templates.globals["meter_label"] = labels.meter
templates.globals["currency_cols"] = CURRENCY  # hidden on screen (every amount names its currency), kept in the DOM
templates.globals["fmt_money"] = lambda amount, currency: f"{number(Decimal(str(amount)))} {currency}"
templates.filters["localtime"] = local_time


def _fmt(col: str, row: dict[str, Any], value: Any = None) -> Markup:
    """A report value as the tables show it (reports/web/cells.py: thousands separators, the currency on
    every amount, calls in minutes with the seconds beneath); `value` instead of `row[col]` when given."""
    c = cell_of(col, row.get(col) if value is None else str(value), row, "", {})
    return Markup("{}{}").format(c.text, Markup("<small>{}</small>").format(c.detail) if c.detail else "")


templates.globals["fmt"] = _fmt
templates.filters["label"] = lambda raw, col: labels.value(col, str(raw))


def _mac(keys: bytes | Keyring, what: str) -> str:
    """A MAC for CSRF tokens, under a key derived from the signing key (never the signing key itself)."""
    key = hmac.new(keys.current if isinstance(keys, Keyring) else keys, b"omnimeter dashboard csrf", "sha256").digest()
    return hmac.new(key, what.encode(), hashlib.sha256).hexdigest()[:32]


def _signin_csrf(secret: bytes | Keyring) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_mac(secret, 'signin:' + nonce)}"


def _signin_csrf_ok(secret: bytes | Keyring, form: str, cookie: str) -> bool:
    nonce, _, mac = form.partition(".")
    good = _mac(secret, "signin:" + nonce)
    return bool(form) and hmac.compare_digest(form, cookie) and hmac.compare_digest(mac, good)


def _session_csrf(secret: bytes | Keyring, token: str) -> str:
    return _mac(secret, "session:" + token)


def _cookie(response: Response, request: HttpRequest, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/ui", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def _html(body: str, code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, code)


def _signin_page(request: HttpRequest, secret: bytes | Keyring, error: str = "", code: int = 200) -> HTMLResponse:
    csrf = _signin_csrf(secret)
    response = _html(templates.get_template("signin.html").render(csrf=csrf, error=error), code)
    _cookie(response, request, CSRF_COOKIE, csrf)
    return response


def _session(request: HttpRequest, secret: bytes | Keyring) -> tuple[Scope, str] | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        scope = who(request, secret, token)
    except InvalidToken:
        return None
    return scope, token


def _signed_in(request: HttpRequest, served: Annotated[Backend, Depends(backend)]) -> tuple[Scope, str] | None:
    return _session(request, served.secret)


Session = Annotated[tuple[Scope, str] | None, Depends(_signed_in)]
Served = Annotated[Backend, Depends(backend)]


def _layout(page: str, scope: Scope, token: str, secret: bytes | Keyring, query: dict[str, str]) -> dict[str, Any]:
    keep = {k: v for k, v in query.items() if k in NAV_KEEP}
    return {
        "title": TITLES.get(page) or BILLING_TITLES.get(page, "omnimeter"), "page": page, "scope": str(scope),
        "pages": [(p, label) for p, label in PAGES if scope.may_read(PAGE_REPORT.get(p, p))],
        "csrf": _session_csrf(secret, token), "nav_query": f"?{urlencode(keep)}" if keep else "",
    }  # fmt: skip


def router() -> APIRouter:
    ui = APIRouter(prefix="/ui", include_in_schema=False)

    @ui.get("/assets/{name}")
    def asset(name: str) -> Response:
        if name not in ASSETS or not ASSETS[name][0].exists():
            return PlainTextResponse("not found (run: make setup, which installs the dashboard assets)", 404)
        path, ctype = ASSETS[name]
        return FileResponse(path, media_type=ctype, headers={"Cache-Control": "max-age=3600"})

    @ui.get("/signin")
    def signin_form(request: HttpRequest, served: Served) -> Response:
        return _signin_page(request, served.secret)

    @ui.post("/signin")
    async def signin(request: HttpRequest, served: Served) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        csrf = form.get("csrf", [""])[0]
        if not _signin_csrf_ok(served.secret, csrf, request.cookies.get(CSRF_COOKIE, "")):
            msg = "Not signed in: the form's CSRF token is missing or wrong (reload this page and sign in again)."
            return _signin_page(request, served.secret, msg, 403)
        token = form.get("token", [""])[0].strip()
        try:
            who(request, served.secret, token)
        except InvalidToken as err:
            return _signin_page(request, served.secret, f"Not signed in: {err}", 401)
        response = RedirectResponse("/ui/overview", 303)
        _cookie(response, request, COOKIE, token)
        _cookie(response, request, CSRF_COOKIE, "", max_age=0)
        return response

    @ui.get("/signout")
    def signout_get() -> Response:
        return PlainTextResponse("sign out with POST (the sign-out button)", 405, headers={"Allow": "POST"})

    @ui.post("/signout")
    async def signout(request: HttpRequest, served: Served, session: Session) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        if session is not None and not hmac.compare_digest(
            form.get("csrf", [""])[0], _session_csrf(served.secret, session[1])
        ):
            return PlainTextResponse("sign-out refused: missing or wrong CSRF token", 403)
        response = RedirectResponse("/ui/signin", 303)
        _cookie(response, request, COOKIE, "", max_age=0)
        return response

    @ui.get("")
    @ui.get("/")
    def home(session: Session) -> Response:
        return RedirectResponse("/ui/overview" if session else "/ui/signin", 303)

    @ui.get("/export/{name}/{section}.csv")
    def export(request: HttpRequest, name: str, section: str, served: Served, session: Session) -> Response:
        if session is None:
            return RedirectResponse("/ui/signin", 303)
        request.state.report = name
        query = dict(request.query_params)
        try:
            ref = load_reference(served.store)
            allowed = [t.id for t in ref.directory.tenants if session[0].allows(t)]
            asked = request_of(api_query(query, ref.directory, allowed))
            doc = run_report(served.store, name, asked, session[0]).to_json()
        except Forbidden as err:
            return PlainTextResponse(str(err), 403)
        except (ValueError, NotFound, OmnimeterError) as err:
            return PlainTextResponse(str(err), 400)
        if section not in doc["sections"]:
            return PlainTextResponse("no such section", 404)
        doc["sections"] = {section: doc["sections"][section]}
        return Response(
            render_report(doc, Format.CSV), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}-{section}.csv"'},
        )  # fmt: skip

    @ui.get("/statement.csv")
    def statement_csv(request: HttpRequest, served: Served, session: Session) -> Response:
        """The statement preview of a cycle as one CSV (its sections one after another)."""
        if session is None:
            return RedirectResponse("/ui/signin", 303)
        request.state.report = "cycle"
        try:
            doc = run_report(served.store, "cycle", request_of(dict(request.query_params)), session[0]).to_json()
        except Forbidden as err:
            return PlainTextResponse(str(err), 403)
        except (ValueError, NotFound, OmnimeterError) as err:
            return PlainTextResponse(str(err), 400)
        doc["sections"] = {s: doc["sections"][s] for s in STATEMENT_SECTIONS}
        name = f"statement-{doc['tenants'][0]}-{doc['period']['from'][:10]}.csv"
        return Response(
            render_report(doc, Format.CSV), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )  # fmt: skip

    @ui.get("/{page}")
    def page(request: HttpRequest, page: str, served: Served, session: Session) -> Response:
        if session is None:
            return RedirectResponse("/ui/signin", 303)
        scope, token = session
        query = dict(request.query_params)
        request.state.report = page
        layout = _layout(page, scope, token, served.secret, query)
        if page not in BUILDERS:
            body = templates.get_template("message.html").render(**layout, ident="error", message=f"No page {page!r}.")
            return _html(body, 404)
        tenants: list[tuple[str, str]] = []
        try:
            directory = load_reference(served.store).directory
            mine = [t for t in directory.tenants if scope.allows(t)]
            tenants = [(t.id, t.name) for t in mine]
            layout["zones"] = zones([t.timezone for t in mine], query.get("tz", ""))
            api = api_query(query, directory, [t.id for t in mine])
            template, variables = BUILDERS[page](Page(served.store, scope, query, tenants, api))
            return _html(templates.get_template(template).render(**layout, **variables))
        except Forbidden as err:
            ident, message, code = "forbidden", f"Not allowed: {err}. No data is shown.", 403
        except (ValueError, NotFound, OmnimeterError) as err:
            errors = field_errors(str(err))
            form = {"query": query, "tenants": tenants, "errors": errors}
            return _html(templates.get_template("invalid.html").render(**layout, **form), 400)
        except Exception:
            log.exception("dashboard page %s failed", page)
            ident, message, code = "failed", "The page failed; see the server log.", 500
        return _html(templates.get_template("message.html").render(**layout, ident=ident, message=message), code)

    return ui
