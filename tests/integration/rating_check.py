"""Compare the stream's billable_lines with offline `omnimeter rate` on the same records."""

from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from omnimeter.cli.offline_rate import rate_file
from omnimeter.cli.traffic import Record
from omnimeter.pricing.books import parse_price_books
from omnimeter.pricing.money import round_money
from omnimeter.pricing.rating import BillableLine
from omnimeter.schemas.directory import parse_directory
from omnimeter.settings import Settings
from omnimeter.sinks.clickhouse import connect

REF = Path(__file__).resolve().parents[2] / "deploy" / "reference"

# (tenant, meter) -> (quantity, price to platform, price to reseller, lines): sums over every line, WhatsApp
# reversals and corrected lines included (they net out: the quantity and amounts of the decisions in
# effect), while `lines` counts the lines of events, not their corrections (their number depends on the
# order messages arrived in).
Totals = dict[tuple[str, str], tuple[Decimal, Decimal, Decimal, int]]


def write_jsonl(records: Iterable[Record], path: Path) -> None:
    with path.open("wb") as f:
        for rec in records:
            f.write(rec.value.replace(b"\n", b" ") + b"\n")


def offline_totals(events: Path, prices: Path, directory: Path) -> Totals:
    books = parse_price_books(prices.read_text(), str(prices))
    direc = parse_directory(directory.read_text(), str(directory))
    out: Totals = {}
    for ln in rate_file(events, books, direc, err=io.StringIO()):
        q, ap, ar, n = out.get((ln.tenant_id, ln.meter), (Decimal(0), Decimal(0), Decimal(0), 0))
        first = 0 if ln.corrects_line_id else 1
        out[(ln.tenant_id, ln.meter)] = (q + ln.quantity, ap + ln.amount_platform, ar + ln.amount_reseller, n + first)
    return out


def stream_totals(settings: Settings) -> Totals:
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        rows = store.query_rows(
            f"SELECT tenant_id, meter, sum(quantity), sum(amount_platform), sum(amount_reseller), "
            "countIf(corrects_line_id = '') "
            f"FROM {store.db}.billable_lines GROUP BY tenant_id, meter"
        )
    finally:
        store.close()
    return {(t, m): (Decimal(q), Decimal(ap), Decimal(ar), int(n)) for t, m, q, ap, ar, n in rows}


def assert_same_totals(stream: Totals, offline: Totals) -> None:
    assert stream.keys() == offline.keys(), set(stream) ^ set(offline)
    for key in sorted(offline):
        s, o = stream[key], offline[key]
        assert s == o, f"{key}: stream {s} != offline {o}"
        assert round_money(s[1], "USD") == round_money(o[1], "USD")  # to the cent, both amounts
        assert round_money(s[2], "USD") == round_money(o[2], "USD")


def stream_lines(settings: Settings) -> list[BillableLine]:
    """The stream's billable lines, as `BillableLine`s (for cycle charges)."""
    fields = BillableLine._fields
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database)
    try:
        rows = store.query_rows(f"SELECT {', '.join(fields)} FROM {store.db}.billable_lines")
    finally:
        store.close()
    return [BillableLine(*row) for row in rows]
