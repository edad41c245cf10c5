"""Reference data as the read side sees it: the versions the workers mirrored into `reference_versions`.

Reports and `omnimeter rebuild` read the directory and price books from the store they query, so a report
never needs Kafka and always names the version it used.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnimeter.errors import BadInput
from omnimeter.pricing.books import PriceBooks, parse_price_books
from omnimeter.schemas.directory import Directory, parse_directory
from omnimeter.sinks.clickhouse import ClickHouseStore


class NoReferenceData(BadInput):
    """No directory or price books were applied (or mirrored) yet."""


@dataclass(frozen=True)
class Reference:
    directory: Directory
    books: PriceBooks
    directory_version: str
    prices_version: str


_parsed: dict[tuple[str, str], object] = {}


def _latest(store: ClickHouseStore, kind: str, version: str | None) -> tuple[str, str]:
    where = "kind = %(k)s" + (" AND startsWith(version, %(v)s)" if version else "")
    rows = store.query_rows(
        f"SELECT version, source FROM {store.db}.reference_versions WHERE {where} ORDER BY applied_at DESC LIMIT 1",
        {"k": kind, "v": version or ""},
    )
    if not rows:
        which = f"version {version!r} of the {kind}" if version else f"the {kind}"
        raise NoReferenceData(f"{which} is not in {store.db}.reference_versions: apply it (omnimeter {kind} apply)")
    return rows[0][0], rows[0][1]


def load_reference(store: ClickHouseStore, prices_version: str | None = None) -> Reference:
    dv, dtext = _latest(store, "directory", None)
    pv, ptext = _latest(store, "prices", prices_version)
    if ("directory", dv) not in _parsed:
        _parsed[("directory", dv)] = parse_directory(dtext, f"directory@{dv}")
    if ("prices", pv) not in _parsed:
        _parsed[("prices", pv)] = parse_price_books(ptext, f"prices@{pv}")
    return Reference(_parsed[("directory", dv)], _parsed[("prices", pv)], dv, pv)  # type: ignore[arg-type]
