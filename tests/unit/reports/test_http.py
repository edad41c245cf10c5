"""The read side's HTTP on a real uvicorn server (the worker's composition: reports API, dashboard and the
control endpoint): security headers, CSRF on sign-in, sign-out by POST only, an authenticated pause that a
cross-site request cannot trigger, bounded bodies and request times, 400s naming the parameter, and an
access log line per request that never holds the token. No store is needed for any of these."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi import APIRouter
from prometheus_client import CollectorRegistry

from omnimeter.reports.api import Backend, platform_guard
from omnimeter.reports.scope import Role, Scope
from omnimeter.reports.tokens import Keyring, issue, key_id
from omnimeter.reports.webapp import build_app
from omnimeter.settings import HttpSettings
from omnimeter.streams.control import PauseSwitch, control_router
from omnimeter.streams.metrics import WorkerMetrics
from omnimeter.streams.webserver import WebServer

SECRET = b"k" * 32


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str]

    def json(self) -> Any:
        return json.loads(self.body)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirect)


@dataclass
class Server:
    base: str
    switch: PauseSwitch
    port: int
    revoked: Path

    def call(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> Answer:
        req = urllib.request.Request(f"{self.base}{path}", data=body, method=method, headers=headers or {})
        try:
            with OPENER.open(req, timeout=10) as r:
                return Answer(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read(),
                              r.headers.get_all("Set-Cookie") or [])  # fmt: skip
        except urllib.error.HTTPError as e:
            return Answer(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read(),
                          e.headers.get_all("Set-Cookie") or [])  # fmt: skip


def token(scope: str) -> str:
    return issue(SECRET, Scope.parse(scope))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    switch = PauseSwitch(WorkerMetrics(CollectorRegistry()))
    slow = APIRouter()

    @slow.get("/slow")
    def sleep() -> dict[str, str]:
        time.sleep(3)
        return {"done": "late"}

    limits = HttpSettings(body_timeout_s=0.5, request_timeout_s=1.2, head_timeout_s=1.0, limit_concurrency=8)
    keys = Keyring(SECRET, revoked_file=tmp_path_factory.mktemp("keys") / "revoked_tokens")
    control = control_router(platform_guard(keys), WorkerMetrics(CollectorRegistry()), switch)
    app = build_app(Backend(None, keys), [control, slow])  # type: ignore[arg-type]
    web = WebServer(app, "127.0.0.1", 0, limits).start()
    try:
        yield Server(f"http://127.0.0.1:{web.address[1]}", switch, web.address[1], keys.revoked_file)  # type: ignore[arg-type]
    finally:
        web.stop()


def test_every_answer_carries_the_security_headers(server: Server) -> None:
    for path in ("/api/v1/reports/services", "/ui/signin", "/api/v1/openapi.json", "/nowhere", "/healthz"):
        a = server.call(path)
        csp = a.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
        assert a.headers["x-content-type-options"] == "nosniff", path
        assert a.headers["referrer-policy"] == "no-referrer", path
        assert a.headers["cache-control"] == "no-store", path
        assert "server" not in a.headers, path
    asset = server.call("/ui/assets/app.css")
    assert asset.status == 200 and asset.headers["cache-control"] == "max-age=3600"
    assert asset.headers["x-content-type-options"] == "nosniff"


def test_api_needs_a_valid_token_and_names_a_bad_parameter(server: Server) -> None:
    a = server.call("/api/v1/reports/services")
    assert a.status == 401 and a.json()["error"].startswith("missing bearer token")
    assert a.headers["www-authenticate"] == "Bearer"
    bad = token("platform")[:-2] + "xx"
    assert server.call("/api/v1/reports/services", headers={"Authorization": f"Bearer {bad}"}).status == 401
    now = int(time.time())
    claims = {"sub": "x", "scope": "platform", "role": "billing_admin", "iat": now, "exp": now + 600, "jti": "j1"}
    forged = {
        "alg none": jwt.encode(claims, None, algorithm="none"),  # type: ignore[arg-type]
        "other key": jwt.encode(claims, b"o" * 32, algorithm="HS256", headers={"kid": key_id(SECRET)}),
        "expired": jwt.encode({**claims, "exp": now - 1}, SECRET, algorithm="HS256", headers={"kid": key_id(SECRET)}),
    }
    for what, bad_token in forged.items():
        a = server.call("/api/v1/whoami", headers={"Authorization": f"Bearer {bad_token}"})
        assert a.status == 401 and a.json()["error"].startswith("invalid token"), (what, a.body)
    revoked = token("platform")
    assert server.call("/api/v1/whoami", headers={"Authorization": f"Bearer {revoked}"}).status == 200
    revoke_file = server.revoked
    revoke_file.write_text(jwt.decode(revoked, options={"verify_signature": False})["jti"] + "\n")
    a = server.call("/api/v1/whoami", headers={"Authorization": f"Bearer {revoked}"})
    assert a.status == 401 and "revoked" in a.json()["error"]
    auth = {"Authorization": f"Bearer {token('tenant:t1')}"}
    a = server.call("/api/v1/whoami", headers=auth)
    assert a.status == 200 and a.json() == {"scope": "tenant:t1"}
    for query, param in (("period=yesterday", "period"), ("group_by=year", "group_by"), ("amount=1e3", "amount"),
                         ("color=red", "color"), ("with_expenses=maybe", "with_expenses")):  # fmt: skip
        a = server.call(f"/api/v1/reports/services?{query}", headers=auth)
        assert a.status == 400 and a.json()["parameter"] == param, (query, a.body)
        assert param in a.json()["error"]
    a = server.call("/api/v1/reports/nope", headers=auth)
    assert a.status == 404 and "unknown report" in a.json()["error"]


def _signin_form(server: Server) -> tuple[str, str]:
    page = server.call("/ui/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.body.decode())
    assert csrf, page.body
    cookie = next(c for c in page.cookies if c.startswith("omnimeter_csrf="))
    return csrf.group(1), cookie.split(";")[0]


def test_sign_in_needs_the_forms_csrf_token(server: Server) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = urllib.parse.urlencode({"token": token("platform")}).encode()
    a = server.call("/ui/signin", "POST", form, body)  # a cross-site form: no CSRF token, no cookie
    assert a.status == 403 and b"CSRF" in a.body
    assert not any(c.startswith("omnimeter_token=") for c in a.cookies)

    csrf, cookie = _signin_form(server)
    other, _ = _signin_form(server)
    wrong = urllib.parse.urlencode({"token": token("platform"), "csrf": other}).encode()
    assert server.call("/ui/signin", "POST", {**form, "Cookie": cookie}, wrong).status == 403

    good = urllib.parse.urlencode({"token": token("platform"), "csrf": csrf}).encode()
    a = server.call("/ui/signin", "POST", {**form, "Cookie": cookie}, good)
    assert a.status == 303 and a.headers["location"] == "/ui/overview"
    session = next(c for c in a.cookies if c.startswith("omnimeter_token="))
    assert "HttpOnly" in session and "SameSite=strict" in session and "Secure" not in session

    csrf, cookie = _signin_form(server)  # behind a TLS proxy on this host: the cookie is Secure
    good = urllib.parse.urlencode({"token": token("platform"), "csrf": csrf}).encode()
    a = server.call("/ui/signin", "POST", {**form, "Cookie": cookie, "X-Forwarded-Proto": "https"}, good)
    assert a.status == 303 and "Secure" in next(c for c in a.cookies if c.startswith("omnimeter_token="))

    a = server.call("/ui/signin", "POST", {**form, "Cookie": cookie}, b"csrf=" + csrf.encode() + b"&token=om1.x.y")
    assert a.status == 401 and b"Not signed in" in a.body


def test_sign_out_is_a_post_with_the_sessions_csrf_token(server: Server) -> None:
    session = f"omnimeter_token={token('platform')}"
    a = server.call("/ui/signout", headers={"Cookie": session})
    assert a.status == 405 and a.headers["allow"] == "POST"
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": session}
    assert server.call("/ui/signout", "POST", form, b"").status == 403  # cross-site: no token in the form
    page = server.call("/ui/overview", headers={"Cookie": session})  # no store: an error page, with the layout
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.body.decode())
    assert csrf and 'action="/ui/signout"' in page.body.decode()
    a = server.call("/ui/signout", "POST", form, f"csrf={csrf.group(1)}".encode())
    assert a.status == 303 and a.headers["location"] == "/ui/signin"
    assert any(c.startswith("omnimeter_token=") and "Max-Age=0" in c for c in a.cookies)


def test_pause_needs_a_platform_bearer_token_not_a_cookie(server: Server) -> None:
    assert server.switch.running.is_set()
    cross_site = {"Origin": "https://evil.example", "Cookie": f"omnimeter_token={token('platform')}",
                  "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    a = server.call("/pause", "POST", cross_site, b"")
    assert a.status == 401 and server.switch.metrics.paused._value.get() == 0
    a = server.call("/pause", "POST", {"Authorization": f"Bearer {token('tenant:t1')}"})
    assert a.status == 403 and server.switch.metrics.paused._value.get() == 0
    viewer = issue(SECRET, Scope.parse("platform"), role=Role.BILLING_VIEWER)
    a = server.call("/pause", "POST", {"Authorization": f"Bearer {viewer}"})
    assert a.status == 403 and server.switch.metrics.paused._value.get() == 0
    assert server.call("/pause").status == 405
    a = server.call("/pause", "POST", {"Authorization": f"Bearer {token('platform')}"})
    assert a.status == 200 and a.json() == {"status": "paused"} and server.switch.metrics.paused._value.get() == 1
    a = server.call("/resume", "POST", {"Authorization": f"Bearer {token('platform')}"})
    assert a.status == 200 and server.switch.metrics.paused._value.get() == 0


def test_a_client_that_never_sends_its_body_does_not_block_others(server: Server) -> None:
    held = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"POST /ui/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                  b"Content-Length: 500\r\n\r\ncsrf=")  # fmt: skip
        held.append(s)
    t0 = time.monotonic()
    assert server.call("/healthz").status == 200
    assert time.monotonic() - t0 < 0.5
    for s in held:  # each slow client gets 408 once its body is overdue, and its connection is closed
        answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - t0 < 1.1
        s.close()
    big = server.call("/ui/signin", "POST", {"Content-Type": "text/plain"}, b"x" * 70_000)
    assert big.status == 413


def test_a_client_trickling_its_request_head_is_cut_off(server: Server) -> None:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    t0 = time.monotonic()
    closed = False
    try:
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
            s.sendall(bytes([byte]))
            time.sleep(0.1)
    except OSError:  # reset by the server
        closed = True
    if not closed:
        s.settimeout(1)
        try:
            closed = s.recv(100) == b""
        except TimeoutError:  # still open
            closed = False
        except OSError:
            closed = True
    s.close()
    assert closed and time.monotonic() - t0 < 4.5
    assert server.call("/healthz").status == 200


def test_a_request_not_answered_in_time_answers_504(server: Server) -> None:
    t0 = time.monotonic()
    a = server.call("/slow")
    assert a.status == 504 and "no answer within" in a.json()["error"]
    assert time.monotonic() - t0 < 2.5
    assert a.headers["x-content-type-options"] == "nosniff"


def test_access_log_says_who_asked_what_but_never_the_token(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    secret_token = token("reseller:r1")
    access = logging.getLogger("omnimeter.access")
    access.addHandler(caplog.handler)
    try:
        server.call("/api/v1/reports/services?period=yesterday&tenant=t9",
                    headers={"Authorization": f"Bearer {secret_token}"})  # fmt: skip
        server.call("/ui/signin", "POST", {"Content-Type": "application/x-www-form-urlencoded"},
                    f"token={secret_token}".encode())  # fmt: skip
        deadline = time.monotonic() + 2
        while len([r for r in caplog.records if "/slow" not in r.getMessage()]) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        access.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if r.name == "omnimeter.access" and "/slow" not in r.getMessage()]
    assert len(lines) == 2, lines
    assert "who=reseller:r1" in lines[0] and "report=services" in lines[0] and "status=400" in lines[0]
    assert '"tenant": "t9"' in lines[0] and '"period": "yesterday"' in lines[0]
    assert "status=403" in lines[1] and 'path="/ui/signin"' in lines[1]
    assert all(secret_token not in line and secret_token.split(".")[1] not in line for line in lines)
