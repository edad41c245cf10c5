"""The HTTP server of the worker and of `omnimeter serve`: uvicorn (h11) with bounded resources.

uvicorn bounds what it can: connections and requests at once (`limit_concurrency`, more answer 503), idle
keep-alive connections, the size of an incomplete request head (h11) and the time it may take
(`_BoundedH11`), no `server` header. The app it runs
is wrapped in `omnimeter.streams.http_guard.guard` (bodies, timeouts, security headers, access log). In
the worker the server runs in a thread of its own, beside Faust's event loop.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from omnimeter.errors import ConfigError
from omnimeter.settings import HttpSettings
from omnimeter.streams.http_guard import ASGIApp, guard


class _BoundedH11(H11Protocol):
    """uvicorn's h11 protocol, plus: a request head must be complete within `head_timeout_s` of the
    connection (or of the previous answer), so clients trickling header bytes cannot hold connections
    (each counts against `limit_concurrency`)."""

    head_timeout_s = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_overdue)

    def _head_overdue(self) -> None:
        waiting_for_head = self.cycle is None or self.cycle.response_complete
        if waiting_for_head and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)


class WebServer:
    """uvicorn on one bound socket: `start()` in a thread (the worker), or `run()` in this thread."""

    def __init__(self, app: ASGIApp, host: str, port: int, limits: HttpSettings) -> None:
        protocol = type("BoundedH11", (_BoundedH11,), {"head_timeout_s": limits.head_timeout_s})
        config = uvicorn.Config(
            guard(app, limits), http=protocol, lifespan="off", access_log=False, server_header=False,
            limit_concurrency=limits.limit_concurrency, timeout_keep_alive=limits.keep_alive_s,
            h11_max_incomplete_event_size=limits.max_header_bytes, forwarded_allow_ips=limits.trusted_proxies,
            timeout_graceful_shutdown=2, log_level="warning",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        try:
            self.sock = socket.create_server((host, port), reuse_port=False)
        except OSError as e:
            raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        self.thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM (uvicorn's signal handling, in the main thread)."""
        self.server.run(sockets=[self.sock])

    def start(self, timeout_s: float = 15.0) -> WebServer:
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), name="http", daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the HTTP server on {self.address} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:  # bounded: a worker must stop within seconds of SIGTERM
            self.thread.join(3)
