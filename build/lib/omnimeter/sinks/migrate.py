"""Versioned .sql migrations, applied idempotently at start-up.

Files are ``sinks/migrations/NNNN_name.sql``; statements are separated by a ``;`` at the end of a line.
They are templates: ``${db}`` is the database, ``${on_cluster}`` is empty or ``ON CLUSTER name``, and
``${merge_tree}`` is ``MergeTree`` or, on a cluster, ``ReplicatedMergeTree`` with the usual macros
(``${replacing_merge_tree}`` likewise, with the version column ``version``).
The version of each applied file is recorded in ``schema_migrations``; a file applies once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Protocol

from omnimeter.sinks.exceptions import MigrationError

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class _Commands(Protocol):
    def command(self, cmd: str) -> object: ...
    def query(self, query: str) -> object: ...


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self, db: str, cluster: str | None) -> Iterator[str]:
        text = Template(self.sql).substitute(
            db=db,
            on_cluster=f"ON CLUSTER {cluster}" if cluster else "",
            merge_tree=(
                "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"
                if cluster
                else "MergeTree"
            ),
            replacing_merge_tree=(
                "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)"
                if cluster
                else "ReplacingMergeTree(version)"
            ),
        )
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        for stmt in re.split(r";\s*$", text, flags=re.M):
            if stmt.strip():
                yield stmt.strip()


def load_migrations() -> list[Migration]:
    found = []
    for entry in (Path(__file__).parent / "migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def apply_migrations(client: _Commands, db: str, cluster: str | None = None) -> list[int]:
    """Create the database and apply every migration not yet recorded. Returns the versions applied."""
    on_cluster = f" ON CLUSTER {cluster}" if cluster else ""
    client.command(f"CREATE DATABASE IF NOT EXISTS {db}{on_cluster}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {db}.schema_migrations{on_cluster} "
        "(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = MergeTree ORDER BY version"
    )
    done = {row[0] for row in client.query(f"SELECT version FROM {db}.schema_migrations").result_rows}  # type: ignore[attr-defined]
    applied = []
    for mig in load_migrations():
        if mig.version in done:
            continue
        for stmt in mig.statements(db, cluster):
            try:
                client.command(stmt)
            except Exception as e:
                raise MigrationError(f"migration {mig.version:04d}_{mig.name} failed: {e}") from e
        client.command(f"INSERT INTO {db}.schema_migrations (version, name) VALUES ({mig.version}, '{mig.name}')")
        applied.append(mig.version)
    return applied
