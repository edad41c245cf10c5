"""Render a report (title, columns, rows) as a table for humans, JSON or CSV for machines.

Producer strings (names, ids, message fields) reach these outputs, so:
* CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
  carriage return; OWASP "CSV injection") get a leading ``'``, except numbers such as ``-1.00``;
* table cells are plain text (never rich markup: ``[/bold]`` prints as written) with control characters
  (terminal escapes) replaced by ``?``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

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


_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def csv_cell(v: Any) -> Any:
    """A CSV cell a spreadsheet shows as text, never runs."""
    v = _plain(v)
    if isinstance(v, str) and v.startswith(_FORMULA) and not _NUMBER.match(v):
        return "'" + v
    return v


def text_cell(v: Any) -> Text:
    """A table cell as plain text: no markup, no terminal escapes."""
    return Text(_CONTROL.sub("?", str(_plain(v))))


def render(sections: Sequence[Section], fmt: Format, console: Console | None = None) -> str:
    if fmt is Format.JSON:
        doc = {s.title: [dict(zip(s.columns, map(_plain, r), strict=True)) for r in s.rows] for s in sections}
        return json.dumps(doc, indent=2, ensure_ascii=False)
    if fmt is Format.CSV:
        buf = io.StringIO()
        w = csv.writer(buf)
        for s in sections:
            w.writerow(["section", *map(csv_cell, s.columns)])
            for r in s.rows:
                w.writerow([csv_cell(s.title), *map(csv_cell, r)])
        return buf.getvalue()
    width = max(120, shutil.get_terminal_size((120, 40)).columns)
    console = console or Console(width=width, record=True, force_terminal=False)
    with console.capture() as cap:
        for s in sections:
            t = Table(title=text_cell(s.title), title_justify="left")
            for c in s.columns:
                t.add_column(text_cell(c), justify="right" if c in ("events", "count", "records") else "left")
            for r in s.rows:
                t.add_row(*map(text_cell, r))
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
