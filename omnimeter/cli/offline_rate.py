"""`omnimeter rate`: offline rating of a JSONL file of events through the stream's own code.

Each line of the events file is one record value as producers send it (an envelope, or a batch array).
Lines are parsed by `schemas.parse` and rated by `pricing.rating` in file order, exactly as the worker
does for one partition. Rejected lines are reported on stderr with their line number and reason. A
WhatsApp message that comes later in the file than messages it decides otherwise (a click-to-WhatsApp
message timed before a template) corrects them with a reversal and a corrected line, as the stream does,
so the totals are the same for the file in any order (within the window horizon, pricing/whatsapp.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from omnimeter.pricing.books import PriceBooks, parse_price_books
from omnimeter.pricing.rating import BillableLine, MemoryState, Rater, UnknownTenant
from omnimeter.pricing.totals import Total, totals
from omnimeter.pricing.whatsapp import LATENESS
from omnimeter.reports.render import Format, render
from omnimeter.reports.section import Section
from omnimeter.schemas.directory import Directory, parse_directory
from omnimeter.schemas.events import UsageEvent
from omnimeter.schemas.parse import Accepted, ParseLimits, parse_record


def read_events(path: Path, err: TextIO = sys.stderr) -> Iterator[UsageEvent]:
    """Accepted events of a JSONL file, in order, each (tenant, source, id) once, as the worker stores
    them; rejected lines and duplicates are reported to `err`."""
    limits = ParseLimits(max_record_bytes=1 << 30)
    now = datetime.now(UTC)
    seen: set[tuple[str, str, str]] = set()
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            for o in parse_record(raw.rstrip(b"\r\n"), now, limits):
                if isinstance(o, Accepted):
                    key = (o.event.subject, o.event.source, o.event.id)
                    if key in seen:
                        print(f"{path}:{n}: duplicate of event {o.event.id} (dropped)", file=err)
                        continue
                    seen.add(key)
                    yield o.event
                else:
                    print(f"{path}:{n}: rejected: {o.describe()}", file=err)


def rate_file(events: Path, books: PriceBooks, directory: Directory, err: TextIO = sys.stderr) -> list[BillableLine]:
    rater = Rater(books, directory, MemoryState())
    lines: list[BillableLine] = []
    for event in read_events(events, err):
        try:
            lines.extend(rater.rate(event))
        except UnknownTenant as e:
            print(f"event {event.id}: unknown tenant {e}", file=err)
    if rater.past_horizon:
        print(
            f"{rater.past_horizon} WhatsApp message(s) came later in the file than the window horizon allows "
            f"(more than {LATENESS / timedelta(hours=1):g} h before their conversation's newest message): "
            "decisions they would change stand; "
            "sort the file by event time to rate them all on complete windows",
            file=err,
        )
    return lines


def _plain(obj: Any) -> dict[str, Any]:
    fields = obj._asdict() if isinstance(obj, tuple) else asdict(obj)  # a BillableLine, or a Total
    return {k: (str(v) if not isinstance(v, (int, str)) or isinstance(v, bool) else v) for k, v in fields.items()}


def run_rate(prices: Path, directory: Path, events: Path, fmt: str, with_lines: bool, out: TextIO) -> int:
    books = parse_price_books(prices.read_text(encoding="utf-8"), str(prices))
    direc = parse_directory(directory.read_text(encoding="utf-8"), str(directory))
    lines = rate_file(events, books, direc)
    tots: list[Total] = totals(lines, books, {t.id: t.cycle for t in direc.tenants})
    if fmt == "jsonl":
        for ln in lines:
            out.write(json.dumps({"kind": "line", **_plain(ln)}) + "\n")
        for t in tots:
            out.write(json.dumps({"kind": "total", **_plain(t)}) + "\n")
    elif fmt == "json":
        out.write(json.dumps({"lines": [_plain(ln) for ln in lines], "totals": [_plain(t) for t in tots]}, indent=2))
        out.write("\n")
    else:
        cols = ["tenant", "meter", "charged quantity", "unit", "lines", "price to platform", "lines (platform)",
                "adjustment (platform)", "price to reseller", "lines (reseller)", "adjustment (reseller)", "cost",
                "margin (platform)"]  # fmt: skip
        rows = [
            (
                t.tenant_id, t.meter, t.quantity, t.unit, t.lines,
                f"{t.amount_platform} {t.currency_platform}".strip(), t.lines_platform, t.adjustment_platform,
                f"{t.amount_reseller} {t.currency_reseller}".strip() if t.currency_reseller else "",
                t.lines_reseller if t.currency_reseller else "", t.adjustment_reseller if t.currency_reseller else "",
                f"{t.cost} {t.cost_currency}" if t.cost_currency else "",
                t.amount_platform - t.cost if t.cost_currency == t.currency_platform else "",
            )
            for t in tots
        ]  # fmt: skip
        title = "totals per tenant and meter: cycle charges (the charge model on each cycle's quantity), estimate"
        sections = [Section(title, cols, rows)]
        if with_lines:
            lcols = ["event", "meter", "quantity", "platform", "reseller", "free reason", "corrects line"]
            sections.insert(
                0,
                Section(
                    "billable lines",
                    lcols,
                    [
                        (
                            ln.event_id,
                            ln.meter,
                            ln.quantity,
                            ln.amount_platform,
                            ln.amount_reseller,
                            ln.free_reason,
                            ln.corrects_line_id,
                        )
                        for ln in lines
                    ],
                ),
            )
        out.write(render(sections, Format(fmt)))
    return 0
