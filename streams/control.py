"""The worker's HTTP endpoint: GET /metrics (Prometheus), GET /healthz, POST /pause, POST /resume, the
reports API under /api/v1 and the dashboard under /ui (the worker holds the store, so it answers the
reports while it runs).

Pausing stops the ingest agent from taking records (the worker stays in its consumer group, keeps its
partitions and keeps serving metrics, so lag visibly grows); resuming continues where it stopped.
Bound to 127.0.0.1 unless configured otherwise (OMNIMETER_WORKER_HOST).
"""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from omnimeter.faults import NO_FAULTS, Faults
from omnimeter.streams.metrics import WorkerMetrics


class ApiRoutes(Protocol):
    """The reports API (omnimeter.reports.api.ReportsAPI), mounted under /api/ by the CLI's worker."""

    def handle(self, path: str, headers: dict[str, str]) -> tuple[int, str, bytes]: ...


class UiRoutes(Protocol):
    """The dashboard (omnimeter.reports.web.app.Dashboard), mounted under /ui by the CLI's worker."""

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, str, bytes, list[tuple[str, str]]]: ...


class PauseSwitch:
    """An asyncio event the agent waits on, flipped from the HTTP thread."""

    def __init__(self, metrics: WorkerMetrics) -> None:
        self.metrics = metrics
        self.running = asyncio.Event()
        self.running.set()
        self.loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def set(self, running: bool) -> None:
        self.metrics.paused.set(0 if running else 1)
        if self.loop is None:
            return
        self.loop.call_soon_threadsafe(self.running.set if running else self.running.clear)


def serve(
    host: str,
    port: int,
    metrics: WorkerMetrics | None = None,
    switch: PauseSwitch | None = None,
    api: ApiRoutes | None = None,
    dashboard: UiRoutes | None = None,
    faults: Faults = NO_FAULTS,
) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _send(
            self, code: int, body: bytes, ctype: str = "application/json", headers: list[tuple[str, str]] | None = None
        ) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            for k, v in headers or ():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _ui(self, method: str, body: bytes = b"") -> None:
            assert dashboard is not None
            code, ctype, out, extra = dashboard.handle(
                method, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            self._send(code, out, ctype, extra)

        def do_GET(self) -> None:
            if dashboard is not None and (self.path == "/ui" or self.path.startswith("/ui/")):
                self._ui("GET")
            elif api is not None and self.path.startswith("/api/"):
                code, ctype, body = api.handle(self.path, {k.lower(): v for k, v in self.headers.items()})
                self._send(code, body, ctype)
            elif metrics is not None and self.path.startswith("/metrics"):
                self._send(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                paused = switch is not None and not switch.running.is_set()
                self._send(200, json.dumps({"status": "paused" if paused else "running"}).encode())
            else:
                self._send(404, b'{"error": "not found"}')

        def do_POST(self) -> None:
            if dashboard is not None and self.path.startswith("/ui/"):
                length = min(int(self.headers.get("Content-Length") or 0), 65536)
                self._ui("POST", self.rfile.read(length))
            elif faults.enabled and self.path.startswith("/faults/sink-down"):
                query = parse_qs(urlsplit(self.path).query)
                seconds = float(query.get("seconds", ["10"])[0])
                faults.sink_down_for(seconds, inserts_only=query.get("inserts", ["0"])[0] == "1")
                self._send(200, json.dumps({"sink_down_s": seconds}).encode())
            elif switch is not None and self.path in ("/pause", "/resume"):
                switch.set(self.path == "/resume")
                self._send(200, json.dumps({"status": self.path.strip("/") + "d"}).encode())
            else:
                self._send(404, b'{"error": "not found"}')

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="worker-http", daemon=True).start()
    return server
