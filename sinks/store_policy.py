"""What `omnimeter store serve` accepts from a client: only the statements ClickHouseStore sends.

The SQL text is tokenized the way ClickHouse reads it (comments ``--``, ``#``, ``/* */``; strings in
single quotes; identifiers bare, in backticks or in double quotes), so nothing hides between a name and
its ``(``. Then:

* queries: one SELECT (``WITH ... SELECT``), never an INSERT; at most `QUERY_TIMEOUT_S` of execution;
* commands: ``INSERT INTO <db>.<table> ... SELECT`` and ``DELETE FROM <db>.<table>`` on the store's own
  tables (rollup refresh, rebuild) — no DDL: the store process applies the migrations itself;
* inserts: rows into the store's own tables;
* in every statement: no call of a table function (every name the engine lists in
  ``system.table_functions`` but a few generators, and the ``file`` function), no ``INTO OUTFILE``,
  ``INFILE``, ``FUNCTION``, ``SETTINGS`` or ``FORMAT`` clause, no second statement; settings only the
  client's few, passed beside the SQL.

A refusal is a `PolicyRefused` with the reason; the server answers 403 with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

QUERY_TIMEOUT_S = 30  # a report query: one slow query holds the writers at most this long
COMMAND_TIMEOUT_S = 300  # a rollup refresh or a rebuild's delete
MAX_BODY_BYTES = 128 * 1024 * 1024
MAX_SQL_CHARS = 200_000

HARMLESS_TABLE_FUNCTIONS = frozenset({"numbers", "numbers_mt", "zeros", "zeros_mt", "generateseries",
                                      "generate_series", "values", "null", "view"})  # fmt: skip
# refused even before the engine's list is read (and the `file` scalar function reads files too)
KNOWN_DANGEROUS = frozenset({"file", "url", "executable", "remote", "remotesecure", "s3", "hdfs", "mysql",
                             "postgresql", "input", "filesystem", "python"})  # fmt: skip
_KEYWORDS_REFUSED = frozenset({"OUTFILE", "INFILE", "FUNCTION", "SETTINGS", "FORMAT", "ATTACH", "DETACH",
                               "GRANT", "REVOKE", "SYSTEM", "KILL", "OPTIMIZE", "RENAME", "TRUNCATE",
                               "EXCHANGE", "BACKUP", "RESTORE", "DROP", "CREATE", "ALTER", "USE", "SET"})  # fmt: skip
_SETTINGS = frozenset({"insert_deduplication_token", "insert_deduplicate", "max_execution_time"})


class PolicyRefused(Exception):
    """A statement or call the store does not serve to clients."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "word" (bare identifier or keyword), "quoted" (a quoted identifier), "string", "number", "op"
    text: str  # for words and quoted identifiers: the name itself


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<line>(--|\#)[^\n]*)
  | (?P<block>/\*)
  | (?P<string>'(?:[^'\\]|\\.|'')*')
  | (?P<backtick>`(?:[^`\\]|\\.|``)*`)
  | (?P<dquote>"(?:[^"\\]|\\.|"")*")
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<number>[0-9][0-9A-Za-z_.]*)
  | (?P<param>%\([A-Za-z0-9_]+\)s)
  | (?P<op>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def tokens(sql: str) -> list[Token]:
    """ClickHouse's lexical view of `sql`, comments dropped. Unterminated strings, identifiers or comments
    are refused."""
    if len(sql) > MAX_SQL_CHARS:
        raise PolicyRefused(f"statement over {MAX_SQL_CHARS} characters")
    out: list[Token] = []
    i = 0
    while i < len(sql):
        m = _TOKEN.match(sql, i)
        if m is None:  # pragma: no cover - `op` matches any character
            raise PolicyRefused("unreadable statement")
        kind = m.lastgroup or ""
        if kind == "block":
            depth, j = 1, m.end()
            while depth and j < len(sql):  # ClickHouse nests block comments
                if sql.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif sql.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise PolicyRefused("unterminated comment")
            i = j
            continue
        text = m.group()
        if kind == "op" and text in "'`\"":
            raise PolicyRefused("unterminated quote")
        i = m.end()
        if kind in ("space", "line"):
            continue
        if kind in ("backtick", "dquote"):
            out.append(Token("quoted", text[1:-1]))
        elif kind == "param":
            out.append(Token("string", text))
        else:
            out.append(Token(kind, text))
    return out


class Policy:
    """The checks, with the engine's own list of table functions."""

    def __init__(self, db: str, tables: Iterable[str], table_functions: Iterable[str] = ()) -> None:
        self.db = db
        self.tables = frozenset(tables)
        self.refused_calls = (KNOWN_DANGEROUS | {f.lower() for f in table_functions}) - HARMLESS_TABLE_FUNCTIONS

    def _common(self, sql: str) -> list[Token]:
        toks = tokens(sql)
        while toks and toks[-1] == Token("op", ";"):
            toks.pop()
        for n, t in enumerate(toks):
            if t == Token("op", ";"):
                raise PolicyRefused("one statement per call")
            qualified = (n > 0 and toks[n - 1] == Token("op", ".")) or (
                n + 1 < len(toks) and toks[n + 1] in (Token("op", "."), Token("op", "("))
            )  # system.columns is a table, not SYSTEM
            if t.kind == "word" and t.text.upper() in _KEYWORDS_REFUSED and not qualified:
                raise PolicyRefused(f"{t.text.upper()} is not served")
            if t.kind in ("word", "quoted") and n + 1 < len(toks) and toks[n + 1] == Token("op", "("):
                if t.text.lower() in self.refused_calls:
                    raise PolicyRefused(f"{t.text}() is not served")
        return toks

    def check_query(self, sql: str) -> None:
        toks = self._common(sql)
        if not toks or toks[0].kind != "word" or toks[0].text.upper() not in ("SELECT", "WITH"):
            raise PolicyRefused("queries must be SELECT")
        if any(t.kind == "word" and t.text.upper() in ("INSERT", "DELETE", "UPDATE") for t in toks):
            raise PolicyRefused("queries must be SELECT")

    def check_command(self, sql: str) -> None:
        toks = self._common(sql)
        words = [t.text.upper() if t.kind == "word" else "" for t in toks[:2]]
        if words not in (["INSERT", "INTO"], ["DELETE", "FROM"]):
            raise PolicyRefused("commands must be INSERT INTO or DELETE FROM one of the store's tables (no DDL)")
        self._own_table(toks[2:5])
        if words[0] == "INSERT" and not any(t.kind == "word" and t.text.upper() == "SELECT" for t in toks):
            raise PolicyRefused("INSERT commands must be INSERT ... SELECT (rows go through insert)")

    def _own_table(self, toks: list[Token]) -> None:
        if (
            len(toks) == 3
            and toks[0].kind in ("word", "quoted")
            and toks[1] == Token("op", ".")
            and toks[2].kind in ("word", "quoted")
            and toks[0].text == self.db
            and toks[2].text in self.tables
        ):
            return
        raise PolicyRefused(f"{' '.join(t.text for t in toks)} is not one of the store's tables")

    def check_insert(self, table: str) -> None:
        name = table.removeprefix(f"{self.db}.")
        if name == table or name not in self.tables:
            raise PolicyRefused(f"table {table!r} is not one of the store's tables")


def check_settings(settings: Mapping[str, Any], limit_s: int) -> dict[str, Any]:
    """The call's settings, if the client may set them, with the execution time capped at `limit_s`."""
    bad = sorted(set(settings) - _SETTINGS)
    if bad:
        raise PolicyRefused(f"settings not served: {', '.join(bad)}")
    out = dict(settings)
    try:
        asked = int(out.get("max_execution_time") or limit_s)
    except (TypeError, ValueError):
        raise PolicyRefused("max_execution_time: expected seconds") from None
    out["max_execution_time"] = min(asked, limit_s) if asked > 0 else limit_s
    return out
