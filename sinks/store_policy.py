"""What `omnimeter store serve` accepts from a client: only the statements ClickHouseStore sends.

* queries: one SELECT (or WITH ... SELECT), at most `QUERY_TIMEOUT_S` of execution;
* commands: ``INSERT INTO <db>.<table> ... SELECT`` and ``DELETE FROM <db>.<table>`` on the store's own
  tables (rollup refresh, rebuild) — no DDL: the store process applies the migrations itself;
* inserts: rows into the store's own tables;
* in every statement, no table function that reads or writes outside the database (``file``, ``url``,
  ``executable``, ``remote``, ``s3``, ...), no second statement, and only the settings the client uses.

A refusal is a `PolicyRefused` with the reason; the server answers 403 with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

QUERY_TIMEOUT_S = 30  # a report query: one slow query holds the writers at most this long
COMMAND_TIMEOUT_S = 300  # a rollup refresh or a rebuild's delete
MAX_BODY_BYTES = 128 * 1024 * 1024

_FUNCTIONS = re.compile(
    r"\b(file|url|urlCluster|executable|executablePool|remote|remoteSecure|cluster|clusterAllReplicas|s3|s3Cluster|"
    r"gcs|hdfs|hdfsCluster|azureBlobStorage|mysql|postgresql|mongodb|redis|sqlite|jdbc|odbc|input|"
    r"iceberg|deltaLake|hudi|dictionary|fuzzJSON|generateRandom|loop)\s*\(",
    re.IGNORECASE,
)
_SETTINGS = frozenset({"insert_deduplication_token", "insert_deduplicate", "max_execution_time"})


class PolicyRefused(Exception):
    """A statement or call the store does not serve to clients."""


def _text_without_strings(sql: str) -> str:
    return re.sub(r"'(?:[^'\\]|\\.)*'", "''", sql)


def _common(sql: str) -> str:
    bare = _text_without_strings(sql).strip()
    if ";" in bare.rstrip(";"):
        raise PolicyRefused("one statement per call")
    m = _FUNCTIONS.search(bare)
    if m:
        raise PolicyRefused(f"table function {m.group(1)}() is not served")
    if re.search(r"\bINTO\s+OUTFILE\b", bare, re.IGNORECASE):
        raise PolicyRefused("INTO OUTFILE is not served")
    return bare


def check_query(sql: str) -> None:
    bare = _common(sql)
    if not re.match(r"(?is)^\s*(SELECT|WITH)\b", bare):
        raise PolicyRefused("queries must be SELECT")


def check_command(sql: str, db: str, tables: frozenset[str]) -> None:
    bare = _common(sql)
    m = re.match(r"(?is)^\s*(INSERT\s+INTO|DELETE\s+FROM)\s+([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\b", bare)
    if not m:
        raise PolicyRefused("commands must be INSERT INTO or DELETE FROM one of the store's tables (no DDL)")
    if m.group(2) != db or m.group(3) not in tables:
        raise PolicyRefused(f"table {m.group(2)}.{m.group(3)} is not one of the store's tables")
    if m.group(1).upper().startswith("INSERT") and not re.search(r"(?is)\bSELECT\b", bare):
        raise PolicyRefused("INSERT commands must be INSERT ... SELECT (rows go through insert)")


def check_insert(table: str, db: str, tables: frozenset[str]) -> None:
    name = table.removeprefix(f"{db}.")
    if name == table or name not in tables:
        raise PolicyRefused(f"table {table!r} is not one of the store's tables")


def check_settings(settings: Mapping[str, Any], limit_s: int) -> dict[str, Any]:
    """The call's settings, if the client may set them, with the execution time capped at `limit_s`."""
    bad = sorted(set(settings) - _SETTINGS)
    if bad:
        raise PolicyRefused(f"settings not served: {', '.join(bad)}")
    out = dict(settings)
    out["max_execution_time"] = min(int(out.get("max_execution_time") or limit_s), limit_s)
    return out
