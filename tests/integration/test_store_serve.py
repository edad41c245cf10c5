"""`omnimeter store serve` against a hostile local process or web page: no key, a file() query, DDL,
another database, unknown settings, a huge body, a body that never comes; the store's own client works."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnimeter.settings import Settings
from omnimeter.sinks.clickhouse import ClickHouseStore, connect
from omnimeter.sinks.shared import dumps, serve_store, store_key

pytestmark = pytest.mark.integration


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, ClickHouseStore]]:
    store = connect(f"chdb://{tmp_path / 'ch'}", "omnimeter")
    key = store_key(tmp_path)
    server = serve_store(store.client, "127.0.0.1", 0, key, "omnimeter")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", key, store
    server.shutdown()
    store.close()


def _post(addr: str, op: str, doc: object, key: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    req = urllib.request.Request(f"http://{addr}/{op}", data=dumps(doc), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()).get("error", "")


def test_the_key_is_required_and_only_the_clients_statements_run(
    served: tuple[str, str, ClickHouseStore], tmp_path: Path
) -> None:
    addr, key, _ = served
    q = {"sql": "SELECT count() FROM omnimeter.raw_events", "parameters": {}, "settings": {}}
    assert _post(addr, "query", q, None)[0] == 401
    assert _post(addr, "query", q, "wrong" * 8)[0] == 401
    assert _post(addr, "query", q, key) == (200, "[[0]]")
    (tmp_path / "secret.txt").write_text("top secret")
    attacks = {
        "query": [
            f"SELECT * FROM file('{tmp_path}/secret.txt', 'LineAsString')",
            "SELECT * FROM url('http://127.0.0.1:1/x', 'CSV')",
            "SELECT * FROM executable('id', 'TSV', 'x String')",
            "SELECT 1; DROP TABLE omnimeter.raw_events",
            "DROP TABLE omnimeter.raw_events",
            "SELECT 1 INTO OUTFILE '/tmp/x'",
        ],
        "command": [
            "CREATE TABLE omnimeter.evil (x Int8) ENGINE = Memory",
            "ALTER TABLE omnimeter.billable_lines DELETE WHERE 1",
            "INSERT INTO system.users SELECT 1",
            "INSERT INTO omnimeter.billable_lines SELECT * FROM file('/etc/passwd')",
            "INSERT INTO omnimeter.billable_lines VALUES (1)",
        ],
    }
    for op, statements in attacks.items():
        for sql in statements:
            code, why = _post(addr, op, {"sql": sql, "parameters": {}, "settings": {}}, key)
            assert code == 403 and why.startswith("refused"), (sql, code, why)
    evil_settings = {**q, "settings": {"readonly": 0}}
    assert _post(addr, "query", evil_settings, key)[0] == 403
    insert = {"table": "system.query_log", "rows": [], "columns": [], "settings": {}}
    assert _post(addr, "insert", insert, key)[0] == 403
    assert _post(addr, "query", {"sql": "SELECT 1", "parameters": {}, "settings": {}}, key) == (200, "[[1]]")


def test_a_stalled_body_does_not_block_other_clients(served: tuple[str, str, ClickHouseStore]) -> None:
    addr, key, _ = served
    host, port = addr.split(":")
    with socket.create_connection((host, int(port))) as stalled:
        stalled.sendall(
            f"POST /query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Length: 1000\r\n\r\n{{".encode()
        )
        started = time.monotonic()
        q = {"sql": "SELECT 2", "parameters": {}, "settings": {}}
        assert _post(addr, "query", q, key) == (200, "[[2]]")
        assert time.monotonic() - started < 5
    big = f"POST /query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Length: {10**10}\r\n\r\n"
    with socket.create_connection((host, int(port))) as s:
        s.sendall(big.encode())
        assert b" 413 " in s.recv(200)


def test_workers_reach_the_shared_store_with_the_hosts_key(
    served: tuple[str, str, ClickHouseStore], tmp_path: Path
) -> None:
    addr, _, _ = served
    settings = Settings(data_dir=tmp_path).replace(clickhouse__url=f"omnimeter://{addr}")
    assert "omnimeter:" in settings.resolved_clickhouse_url.split("@")[0]  # the key went into the URL
    assert "***" in settings.masked()["clickhouse"]["url"]  # and is never printed
    client = connect(settings.resolved_clickhouse_url, "omnimeter")  # checks the schema, sends no DDL
    assert client.query_rows("SELECT count() FROM omnimeter.billable_lines") == [(0,)]
    stranger = Settings(data_dir=tmp_path / "elsewhere").replace(clickhouse__url=f"omnimeter://{addr}")
    with pytest.raises(Exception, match="store key missing or wrong"):
        connect(stranger.resolved_clickhouse_url, "omnimeter")
