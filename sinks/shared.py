"""Share one embedded chDB store between processes on one host: `omnimeter store serve` owns the chdb path
and answers queries, commands and inserts over HTTP on 127.0.0.1; workers and the CLI reach it with
``OMNIMETER_CLICKHOUSE_URL=omnimeter://127.0.0.1:PORT``.

chDB lets one process open a data path, so without this, one host runs one worker. The wire format is JSON
with tagged Decimal, date, datetime, bytes and string-array parameter values (no pickle: a local peer must
not run code here). SQL parameters are bound by clickhouse-connect inside the store process, exactly as
in-process. Only the client calls `ClickHouseStore` uses are served: query, command, insert, close.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from clickhouse_connect.driver.client import Client

from omnimeter.sinks.queries import StringArray

log = logging.getLogger(__name__)


def _enc(v: Any) -> Any:
    if isinstance(v, Decimal):
        return {"$d": str(v)}
    if isinstance(v, datetime):
        return {"$t": v.isoformat()}
    if isinstance(v, date):
        return {"$D": v.isoformat()}
    if isinstance(v, bytes):
        return {"$b": base64.b64encode(v).decode()}
    if isinstance(v, StringArray):
        return {"$sa": list(v.values)}
    if isinstance(v, (list, tuple)):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        return {k: _enc(x) for k, x in v.items()}
    return v


def _dec(v: Any) -> Any:
    if isinstance(v, dict):
        if len(v) == 1:
            ((tag, x),) = v.items()
            if tag == "$d":
                return Decimal(x)
            if tag == "$t":
                return datetime.fromisoformat(x)
            if tag == "$D":
                return date.fromisoformat(x)
            if tag == "$b":
                return base64.b64decode(x)
            if tag == "$sa" and isinstance(x, list) and all(isinstance(s, str) for s in x):
                return StringArray(x)
        return {k: _dec(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_dec(x) for x in v]
    return v


def dumps(doc: Any) -> bytes:
    return json.dumps(_enc(doc), separators=(",", ":")).encode()


def loads(raw: bytes) -> Any:
    return _dec(json.loads(raw))


class RemoteError(Exception):
    """The store process refused or failed a call (the message is the store's)."""


class _Result:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.result_rows = rows


class SharedStoreClient:
    """Stands in for a clickhouse-connect client: the calls `ClickHouseStore` makes, sent to the store process."""

    def __init__(self, url: str, timeout_s: float = 300.0) -> None:
        self.base = "http://" + url.split("://", 1)[1].rstrip("/")
        self.timeout_s = timeout_s

    def _call(self, op: str, doc: dict[str, Any]) -> Any:
        req = urllib.request.Request(f"{self.base}/{op}", data=dumps(doc), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                return loads(r.read())
        except urllib.error.HTTPError as e:
            raise RemoteError(loads(e.read()).get("error", str(e))) from None

    def query(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> _Result:
        rows = self._call("query", {"sql": sql, "parameters": parameters or {}, "settings": settings or {}})
        return _Result([tuple(r) for r in rows])

    def command(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> Any:
        return self._call("command", {"sql": sql, "parameters": parameters or {}, "settings": settings or {}})

    def insert(
        self,
        table: str,
        data: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        settings: dict[str, Any] | None = None,
    ) -> None:
        self._call(
            "insert", {"table": table, "rows": [list(r) for r in data], "columns": list(column_names),
                       "settings": settings or {}},
        )  # fmt: skip

    def close(self) -> None:
        pass


def serve_store(client: Client, host: str, port: int) -> ThreadingHTTPServer:
    """Answer SharedStoreClient calls with `client` (one call at a time: one chDB engine)."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            op = self.path.strip("/")
            try:
                doc = loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with lock:
                    if op == "query":
                        out: Any = client.query(doc["sql"], parameters=doc["parameters"],
                                                settings=doc["settings"]).result_rows  # fmt: skip
                    elif op == "command":
                        out = client.command(doc["sql"], parameters=doc["parameters"], settings=doc["settings"])
                        out = out if isinstance(out, (int, str)) else None
                    elif op == "insert":
                        client.insert(doc["table"], doc["rows"], column_names=doc["columns"], settings=doc["settings"])
                        out = None
                    else:
                        raise ValueError(f"unknown operation {op!r}")
                body, code = dumps(out), 200
            except Exception as e:  # the caller's store retries or reports it
                body, code = dumps({"error": str(e).strip().splitlines()[0][:2000] if str(e).strip() else repr(e)}), 500
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            log.warning("store client %s went away mid-call (a killed worker?)", client_address)

    return Server((host, port), Handler)
