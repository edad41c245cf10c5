"""What every HTTP answer of omnimeter goes through (an ASGI wrapper around the app uvicorn runs).

- Bounded requests: a body must arrive within `body_timeout_s` and stay under `max_body_bytes` (the app
  answers 408/413 for `BodyTimeout`/`BodyTooLarge`), so a client that never sends its body frees its slot;
  a request not answered within `request_timeout_s` answers 504.
- Security headers on every response: a Content-Security-Policy with no inline script and nothing from
  elsewhere, no framing, no sniffing, no referrer; `Cache-Control: no-store` on everything but the
  dashboard's static assets (billing pages and API answers are never cached).
- An access log line per request (logger ``omnimeter.access``): who (the scope the app put in
  ``scope["state"]["who"]``), method, path, parameters, status, milliseconds. Never a token or a cookie.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from omnimeter.settings import HttpSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
log = logging.getLogger(__name__)
access = logging.getLogger("omnimeter.access")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
CACHEABLE = ("/ui/assets/",)
SECRET_PARAMS = {"token", "csrf", "access_token", "password"}


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """sys.stderr as it is at each line (pytest swaps it), unless it is Faust's logging proxy of it, which
    would relabel every access line as a warning: then the process's own stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        current = sys.stderr
        self.setStream(sys.__stderr__ if type(current).__name__ == "FileLogProxy" else current)
        super().emit(record)


def _access_logger() -> logging.Logger:
    if not access.handlers:  # its own handler: the worker's log level (warning) must not hide it
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
    return access


class BodyTimeout(Exception):
    """The client did not send its request body in time."""


class BodyTooLarge(Exception):
    """The request body is over the limit."""


async def _answer(send: Send, code: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]  # fmt: skip
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _with_headers(path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    names = {k.lower() for k, _ in headers}
    out = list(headers) + [(k, v) for k, v in SECURITY_HEADERS if k not in names]
    if not path.startswith(CACHEABLE):
        out = [(k, v) for k, v in out if k.lower() != b"cache-control"] + [(b"cache-control", b"no-store")]
    return out


def _log_line(scope: Scope, status: int, started: float) -> None:
    path = str(scope.get("path", ""))
    params = {k: v for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1")) if k not in SECRET_PARAMS}
    state = scope.get("state") or {}
    report = path.removeprefix("/api/v1/reports/") if path.startswith("/api/v1/reports/") else state.get("report", "")
    _access_logger().info(
        "who=%s method=%s path=%s report=%s params=%s status=%d ms=%.0f",
        state.get("who", "-"), scope.get("method"), json.dumps(path), report or "-",
        json.dumps(params, ensure_ascii=False), status, (time.monotonic() - started) * 1000,
    )  # fmt: skip


def guard(app: ASGIApp, limits: HttpSettings) -> ASGIApp:
    """`app` with bounded requests, security headers and an access log (see the module's docstring)."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        t0 = time.monotonic()
        scope.setdefault("state", {})  # shared with the app's request.state: who is asking
        path = str(scope.get("path", ""))
        status = 0
        started = timed_out = False
        body_done = scope.get("method") in ("GET", "HEAD")
        received = 0

        async def send_secured(msg: Message) -> None:
            nonlocal status, started
            if msg["type"] == "http.response.start":
                status, started = int(msg["status"]), True
                msg = {**msg, "headers": _with_headers(path, list(msg.get("headers") or []))}
            await send(msg)

        async def bounded_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # the body is in: waiting for a disconnect is not bounded
                return await receive()
            try:
                msg = await asyncio.wait_for(receive(), limits.body_timeout_s)
            except TimeoutError:
                raise BodyTimeout(f"no request body within {limits.body_timeout_s:g} s") from None
            received += len(msg.get("body", b""))
            if received > limits.max_body_bytes:
                raise BodyTooLarge(f"request body over {limits.max_body_bytes} bytes")
            body_done = msg["type"] != "http.request" or not msg.get("more_body", False)
            return msg

        async def app_send(msg: Message) -> None:
            if not timed_out:
                await send_secured(msg)

        try:
            declared = dict(scope.get("headers") or ()).get(b"content-length", b"0")
            if not declared.isdigit() or int(declared) > limits.max_body_bytes:
                await _answer(send_secured, 413, f"request body over {limits.max_body_bytes} bytes")
                return
            task = asyncio.ensure_future(app(scope, bounded_receive, app_send))
            done, _ = await asyncio.wait({task}, timeout=limits.request_timeout_s)
            if task in done:
                task.result()
                return
            timed_out = True
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # it ends on its own; nobody waits
            task.cancel()
            log.warning("%s %s: no answer within %g s", scope.get("method"), path, limits.request_timeout_s)
            if not started:
                await _answer(send_secured, 504, f"no answer within {limits.request_timeout_s:g} s")
            else:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            _log_line(scope, status or 500, t0)

    return guarded
