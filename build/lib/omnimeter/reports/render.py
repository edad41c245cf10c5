"""Render a report (title, columns, rows) as a table for humans, JSON or CSV for machines."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from omnimeter.reports.section import Section


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def render(sections: Sequence[Section], fmt: Format, console: Console | None = None) -> str:
    if fmt is Format.JSON:
        doc = {s.title: [dict(zip(s.columns, map(_plain, r), strict=True)) for r in s.rows] for s in sections}
        return json.dumps(doc, indent=2, ensure_ascii=False)
    if fmt is Format.CSV:
        buf = io.StringIO()
        w = csv.writer(buf)
        for s in sections:
            w.writerow(["section", *s.columns])
            for r in s.rows:
                w.writerow([s.title, *map(_plain, r)])
        return buf.getvalue()
    width = max(120, shutil.get_terminal_size((120, 40)).columns)
    console = console or Console(width=width, record=True, force_terminal=False)
    with console.capture() as cap:
        for s in sections:
            t = Table(title=s.title, title_justify="left")
            for c in s.columns:
                t.add_column(c, justify="right" if c in ("events", "count", "records") else "left")
            for r in s.rows:
                t.add_row(*(str(_plain(v)) for v in r))
            console.print(t)
    return cap.get()


def render_report(doc: dict[str, Any], fmt: Format) -> str:
    """A report document (`Report.to_json()`, or the API's answer) as JSON, CSV or tables under a header
    that says it is an estimate and how fresh it is."""
    if fmt is Format.JSON:
        return json.dumps(doc, indent=2, ensure_ascii=False)
    from omnimeter.reports.shapes import SHAPES, columns

    known = SHAPES.get(doc["report"], {})
    sections = [
        Section(name, columns(doc["report"], name) if name in known else list(rows[0]) if rows else [],
                [list(r.values()) for r in rows])
        for name, rows in doc["sections"].items()
    ]  # fmt: skip
    if fmt is Format.CSV:
        return render(sections, fmt)
    p, fresh = doc["period"], doc["freshness"]
    header = (
        f"{doc['report']} · scope {doc['scope']} · {p['from']} .. {p['to']} ({p['time_zone']})\n"
        f"{doc['notice']}\n"
        f"Newest event included: {fresh['newest_event'] or 'none in this period'} · generated {fresh['generated_at']}\n"
    )
    return (
        header
        + render([s for s in sections if s.rows], fmt)
        + "".join(f"{s.title}: no rows\n" for s in sections if not s.rows)
    )
