"""Share one embedded chDB store between processes on one host: `omnimeter store serve` owns the chdb path
and answers queries, commands and inserts over HTTP on 127.0.0.1; workers and the CLI reach it with
``OMNIMETER_CLICKHOUSE_URL=omnimeter://127.0.0.1:PORT``.

chDB lets one process open a data path, so without this, one host runs one worker. The wire format is JSON
with tagged Decimal, date, datetime, bytes and string-array parameter values (no pickle: a local peer must
not run code here). SQL parameters are bound by clickhouse-connect inside the store process, exactly as
in-process. Only the client calls `ClickHouseStore` uses are served: query, command, insert, close.

Every call carries the store's key (``Authorization: Bearer``; the URL's password,
``omnimeter://omnimeter:KEY@127.0.0.1:PORT``; on this host the key is read from ``<data dir>/store_key``,
mode 0600, when the URL has none), so neither another local user nor a web page in a browser (which
cannot set that header cross-site) reaches the data. What a call may run is sinks/store_policy.py;
bodies are bounded and a connection that stalls is dropped after `READ_TIMEOUT_S`.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from omnimeter.sinks.queries import StringArray
from omnimeter.sinks.store_policy import (
    COMMAND_TIMEOUT_S,
    MAX_BODY_BYTES,
    QUERY_TIMEOUT_S,
    Policy,
    PolicyRefused,
    check_settings,
)

log = logging.getLogger(__name__)


def _tagged(v: object) -> Any:
    """A value JSON has no type for, as a one-key object (json.dumps asks only for these: strings, numbers,
    lists and tuples are written by its C encoder)."""
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
    if isinstance(v, Sequence) and not isinstance(v, str | bytearray | memoryview):  # a row of another sequence type
        return list(v)
    raise TypeError(f"the shared store's wire format has no {type(v).__name__}")


def _untagged(v: dict[str, Any]) -> Any:
    """A one-key tagged object back as its value (json.loads calls this for every object, innermost first)."""
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
    return v


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), default=_tagged).encode()


def loads(raw: bytes) -> Any:
    return json.loads(raw, object_hook=_untagged)


class RemoteError(Exception):
    """The store process refused or failed a call (the message is the store's)."""


class _Result:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.result_rows = rows


class SharedStoreClient:
    """Stands in for a clickhouse-connect client: the calls `ClickHouseStore` makes, sent to the store process."""

    def __init__(self, url: str, timeout_s: float = 360.0) -> None:
        parts = urllib.parse.urlsplit(url)
        self.base = f"http://{parts.hostname}:{parts.port}"
        self.key = urllib.parse.unquote(parts.password or "")
        self.timeout_s = timeout_s

    def _call(self, op: str, doc: dict[str, Any]) -> Any:
        req = urllib.request.Request(
            f"{self.base}/{op}", data=dumps(doc), method="POST", headers={"Authorization": f"Bearer {self.key}"}
        )
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
        rows = data if isinstance(data, list) else list(data)  # rows as they are: json writes tuples as lists
        self._call("insert", {"table": table, "rows": rows, "columns": list(column_names), "settings": settings or {}})

    def close(self) -> None:
        pass


READ_TIMEOUT_S = 30.0


def store_key(data_dir: Path) -> str:
    """This host's store key, created (0600) on first use."""
    path = data_dir / "store_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def serve_store(client: Client, host: str, port: int, key: str, db: str) -> ThreadingHTTPServer:
    """Answer SharedStoreClient calls with `client` (one call at a time: one chDB engine)."""
    if len(key) < 32:
        raise ValueError("store key: at least 32 characters")
    lock = threading.Lock()
    with lock:
        tables = {
            str(n) for (n,) in client.query(f"SELECT name FROM system.tables WHERE database = '{db}'").result_rows
        } - {"schema_migrations"}
        functions = [str(n) for (n,) in client.query("SELECT name FROM system.table_functions").result_rows]
    policy = Policy(db, tables, functions)
    expected = f"Bearer {key}".encode()

    class Handler(BaseHTTPRequestHandler):
        timeout = READ_TIMEOUT_S  # a client that never sends its body is dropped

        def do_POST(self) -> None:
            op = self.path.strip("/")
            given = (self.headers.get("Authorization") or "").encode()
            if not hmac.compare_digest(given, expected):
                return self._answer(401, {"error": "store key missing or wrong"})
            size = int(self.headers.get("Content-Length") or 0)
            if not 0 <= size <= MAX_BODY_BYTES:
                return self._answer(413, {"error": f"body over {MAX_BODY_BYTES} bytes"})
            try:
                doc = loads(self.rfile.read(size))
                out = self._run(op, doc)
            except PolicyRefused as e:
                return self._answer(403, {"error": f"refused: {e}"})
            except Exception as e:  # the caller's store retries or reports it
                text = str(e).strip()
                return self._answer(500, {"error": text.splitlines()[0][:2000] if text else repr(e)})
            self._answer(200, out)

        def _run(self, op: str, doc: dict[str, Any]) -> Any:
            if op == "query":
                policy.check_query(doc["sql"])
                settings = check_settings(doc["settings"], QUERY_TIMEOUT_S)
                with lock:
                    return client.query(doc["sql"], parameters=doc["parameters"], settings=settings).result_rows
            if op == "command":
                policy.check_command(doc["sql"])
                settings = check_settings(doc["settings"], COMMAND_TIMEOUT_S)
                with lock:
                    out = client.command(doc["sql"], parameters=doc["parameters"], settings=settings)
                return out if isinstance(out, (int, str)) else None
            if op == "insert":
                policy.check_insert(doc["table"])
                settings = check_settings(doc["settings"], COMMAND_TIMEOUT_S)
                with lock:
                    client.insert(doc["table"], doc["rows"], column_names=doc["columns"], settings=settings)
                return None
            raise PolicyRefused(f"unknown operation {op!r}")

        def _answer(self, code: int, doc: Any) -> None:
            body = dumps(doc)
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
