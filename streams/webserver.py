"""The HTTP server of the worker and of `omnimeter serve`: uvicorn (h11) with bounded resources.

uvicorn bounds what it can: connections and requests at once (`limit_concurrency`, more answer 503), idle
keep-alive connections, the size of an incomplete request head (h11), no `server` header. The app it runs
is wrapped in `omnimeter.streams.http_guard.guard` (bodies, timeouts, security headers, access log). In
the worker the server runs in a thread of its own, beside Faust's event loop.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn

from omnimeter.errors import ConfigError
from omnimeter.settings import HttpSettings
from omnimeter.streams.http_guard import ASGIApp, guard


class WebServer:
    """uvicorn on one bound socket: `start()` in a thread (the worker), or `run()` in this thread."""

    def __init__(self, app: ASGIApp, host: str, port: int, limits: HttpSettings) -> None:
        config = uvicorn.Config(
            guard(app, limits), http="h11", lifespan="off", access_log=False, server_header=False,
            limit_concurrency=limits.limit_concurrency, timeout_keep_alive=limits.keep_alive_s,
            h11_max_incomplete_event_size=limits.max_header_bytes, timeout_graceful_shutdown=5, log_level="warning",
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
        if self.thread is not None:
            self.thread.join(10)
