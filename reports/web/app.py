"""The dashboard under /ui: sign in with a scoped token (kept in an HttpOnly cookie), then server-rendered
pages built from the same reports as the JSON API, so their numbers are the API's to the cent. Assets
(CSS, JS, Chart.js from reports/web/node_modules) are served locally: the page needs no internet."""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from omnimeter.errors import OmnimeterError
from omnimeter.reports.catalog import run_report
from omnimeter.reports.reference import load_reference
from omnimeter.reports.render import Format, render_report
from omnimeter.reports.scope import Forbidden, NotFound, Scope
from omnimeter.reports.tokens import InvalidToken, Keyring, verify
from omnimeter.reports.web.html import e, layout
from omnimeter.reports.web.pages import PAGE_BUILDERS, TITLES, Page, request_of
from omnimeter.sinks.clickhouse import ClickHouseStore

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
ASSETS = {
    "app.css": (HERE / "static" / "app.css", "text/css"),
    "app.js": (HERE / "static" / "app.js", "text/javascript"),
    "chart.umd.js": (HERE / "node_modules" / "chart.js" / "dist" / "chart.umd.js", "text/javascript"),
}
COOKIE = "omnimeter_token"
Answer = tuple[int, str, bytes, list[tuple[str, str]]]


def _html(code: int, body: str, headers: list[tuple[str, str]] | None = None) -> Answer:
    return code, "text/html; charset=utf-8", body.encode(), headers or []


def _redirect(to: str, headers: list[tuple[str, str]] | None = None) -> Answer:
    return 303, "text/plain", b"", [("Location", to), *(headers or [])]


SIGNIN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · omnimeter</title>
<link rel="stylesheet" href="/ui/assets/app.css"></head><body class="signin"><form method="post" action="/ui/signin">
<h1>omnimeter billing</h1><p>Sign in with an API token (<code>omnimeter token --scope ...</code>).</p>{error}
<label>Token <input type="password" name="token" id="token" autocomplete="off" required></label>
<button type="submit" id="signin">Sign in</button></form></body></html>"""


class Dashboard:
    def __init__(self, store: ClickHouseStore, secret: bytes | Keyring) -> None:
        self.store = store
        self.secret = secret

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Answer:
        url = urlsplit(path)
        route = url.path.rstrip("/") or "/ui"
        if route.startswith("/ui/assets/"):
            return self._asset(route.removeprefix("/ui/assets/"))
        if route == "/ui/signin":
            if method == "POST":
                return self._signin(parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0].strip())
            return _html(200, SIGNIN.format(error=""))
        if route == "/ui/signout":
            return _redirect(
                "/ui/signin", [("Set-Cookie", f"{COOKIE}=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict")]
            )
        scope = self._scope(headers)
        if scope is None:
            return _redirect("/ui/signin")
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if route == "/ui":
            return _redirect("/ui/overview")
        if route.startswith("/ui/export/"):
            return self._export(route.removeprefix("/ui/export/"), query, scope)
        page = route.removeprefix("/ui/")
        if page not in PAGE_BUILDERS:
            return _html(404, f"<p>no page {e(page)}</p>")
        return self._page(page, query, scope)

    def _asset(self, name: str) -> Answer:
        if name not in ASSETS or not ASSETS[name][0].exists():
            return 404, "text/plain", b"not found (run: make setup, which installs the dashboard assets)", []
        path, ctype = ASSETS[name]
        return 200, ctype, path.read_bytes(), [("Cache-Control", "max-age=3600")]

    def _signin(self, token: str) -> Answer:
        try:
            verify(self.secret, token)
        except InvalidToken as err:
            return _html(401, SIGNIN.format(error=f'<p class="error" id="error">Not signed in: {e(err)}</p>'))
        cookie = f"{COOKIE}={token}; Path=/ui; HttpOnly; SameSite=Strict"
        return _redirect("/ui/overview", [("Set-Cookie", cookie)])

    def _scope(self, headers: dict[str, str]) -> Scope | None:
        jar = SimpleCookie(headers.get("cookie", ""))
        if COOKIE not in jar:
            return None
        try:
            return verify(self.secret, jar[COOKIE].value)
        except InvalidToken:
            return None

    def _tenants(self, scope: Scope) -> list[tuple[str, str]]:
        directory = load_reference(self.store).directory
        return [(t.id, t.name) for t in directory.tenants if scope.allows(t)]

    def _page(self, page: str, query: dict[str, str], scope: Scope) -> Answer:
        title = TITLES[page]
        try:
            body = PAGE_BUILDERS[page](Page(self.store, scope, query, self._tenants(scope)))
            code = 200
        except Forbidden as err:
            body, code = f'<p class="error" id="forbidden">Not allowed: {e(err)}. No data is shown.</p>', 403
        except (ValueError, NotFound, OmnimeterError) as err:
            body, code = f'<p class="error" id="error">{e(err)}</p>', 400
        except Exception:
            log.exception("dashboard page %s failed", page)
            body, code = '<p class="error">The page failed; see the server log.</p>', 500
        return _html(code, layout(title, page, str(scope), body, query))

    def _export(self, rest: str, query: dict[str, str], scope: Scope) -> Answer:
        name, _, section = rest.removesuffix(".csv").partition("/")
        try:
            doc = run_report(self.store, name, request_of(query), scope).to_json()
        except Forbidden as err:
            return 403, "text/plain", str(err).encode(), []
        except (ValueError, NotFound, OmnimeterError) as err:
            return 400, "text/plain", str(err).encode(), []
        if section not in doc["sections"]:
            return 404, "text/plain", b"no such section", []
        doc["sections"] = {section: doc["sections"][section]}
        filename = f"{name}-{section}.csv"
        return (
            200,
            "text/csv; charset=utf-8",
            render_report(doc, Format.CSV).encode(),
            [("Content-Disposition", f'attachment; filename="{filename}"')],
        )
