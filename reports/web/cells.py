"""How a report's table reads on the dashboard: human labels (reports/labels.py), thousands separators,
the currency beside every amount, calls in minutes (seconds in the detail), times in the page's zone
without microseconds, and a totals row summed in Decimal from the same rows.

Each cell keeps the report's raw value (`raw`, rendered as `data-value`), so a test or a script can
compare the page with the API exactly; only the text is for people.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from omnimeter.reports import labels

MONEY = re.compile(r"(^|_)(cost|amount|price|adjustment|lines|charge|credit|spent|margin)(_|$)|^remaining$")
QUANTITY = re.compile(r"quantity|usage|^charged$|^free$|^included$|^used$")
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
GROUPING = ("unit", "meter", "service", "category", "channel", "direction", "section", "reason")
SECONDS = ("billable_seconds",)
NO_SUM = frozenset({"channels_assigned", "days_elapsed", "days_total"})  # counts whose sum means nothing
CURRENCY = frozenset({"currency", "currency_platform", "currency_reseller"})  # shown on every amount instead


@dataclass(frozen=True)
class Cell:
    raw: str  # the report's value, exactly as the API gives it
    text: str  # what a person reads
    detail: str = ""  # a second line (e.g. the seconds of a call's minutes)
    num: bool = False  # right-aligned, sorted as a number
    title: str = ""


@dataclass(frozen=True)
class Table:
    columns: list[tuple[str, str]]  # (id, label)
    rows: list[list[Cell]]
    totals: list[Cell] | None


def _dec(v: Any) -> Decimal | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, str) and v and (v[0].isdigit() or v[0] == "-"):
        try:
            return Decimal(v)
        except InvalidOperation:
            return None
    return None


def number(d: Decimal) -> str:
    """1234567.5 -> '1,234,567.5' (the digits the report gave, no float)."""
    return f"{d:,}"


def _currency_of(col: str, row: Mapping[str, Any], fallback: Mapping[str, str]) -> str:
    for party in ("platform", "reseller"):
        if col.endswith(party) and (row.get(f"currency_{party}") or fallback.get(f"currency_{party}")):
            return str(row.get(f"currency_{party}") or fallback.get(f"currency_{party}", ""))
    for key in ("currency", "cost_currency", "currency_platform"):
        if row.get(key):
            return str(row[key])
    return fallback.get("currency", "")


def _is_money(col: str, row: Mapping[str, Any], fallback: Mapping[str, str]) -> bool:
    return bool(MONEY.search(col)) and not QUANTITY.search(col) and bool(_currency_of(col, row, fallback))


def local_time(value: str, tz: str) -> str:
    """An ISO date-time in the page's zone, to the second."""
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if tz and t.tzinfo is not None:
        t = t.astimezone(ZoneInfo(tz))
    return t.strftime("%Y-%m-%d %H:%M:%S")


def minutes(seconds: Decimal) -> tuple[str, str]:
    m = (seconds / 60).quantize(Decimal("0.01"))
    return f"{m:,} min", f"{number(seconds)} s"


def cell(col: str, value: Any, row: Mapping[str, Any], tz: str, fallback: Mapping[str, str]) -> Cell:
    raw = "" if value is None else str(value)
    if col.endswith("_percent"):
        return Cell(raw, f"{raw} %" if raw else "\u2013", num=True)
    if isinstance(value, str) and ISO_TIME.match(value):
        return Cell(raw, local_time(value, tz), title=raw)
    d = _dec(value) if not col.endswith(("_id", "_start", "_end")) and col != "period" else None
    if d is None:
        text = labels.value(col, raw)
        return Cell(raw, text, title=raw if text != raw else "")
    if _is_money(col, row, fallback):
        return Cell(raw, f"{number(d)} {_currency_of(col, row, fallback)}", num=True)
    in_seconds = row.get("unit") == "seconds" or str(row.get("meter", "")).endswith(".seconds")
    if col in SECONDS or (in_seconds and QUANTITY.search(col)):
        text, detail = minutes(d)
        return Cell(raw, text, detail, num=True)
    return Cell(raw, number(d), num=True)


def _totals(
    cols: Sequence[str], rows: Sequence[Mapping[str, Any]], tz: str, fallback: Mapping[str, str]
) -> list[Cell] | None:
    if len(rows) < 2:
        return None
    mixed = any(len({r.get(g) for r in rows}) > 1 for g in GROUPING if g in cols)  # quantities of unlike things
    out: list[Cell] = []
    summed = False
    for c in cols:
        values = [_dec(r.get(c)) for r in rows]
        if c.endswith(("_percent", "_id")) or c in NO_SUM or c == "period" or any(v is None for v in values):
            out.append(Cell("", ""))
            continue
        total = sum((v for v in values if v is not None), Decimal(0))
        if MONEY.search(c) and not QUANTITY.search(c):
            currencies = {_currency_of(c, r, fallback) for r in rows}
            if len(currencies) != 1 or not next(iter(currencies)):
                out.append(Cell("", "mixed currencies" if len(currencies) > 1 else ""))
                continue
            out.append(cell(c, str(total), rows[0], tz, fallback))
        elif mixed:
            out.append(Cell("", ""))
            continue
        else:
            out.append(cell(c, str(total), rows[0], tz, fallback))
        summed = True
    if not summed:
        return None
    first = next((i for i, c in enumerate(out) if not c.raw), None)
    if first is not None:
        out[first] = Cell("", f"Total ({len(rows):,} rows)")
    return out


def present(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, tz: str = "",
    fallback: Mapping[str, str] | None = None,
) -> Table:  # fmt: skip
    """The table of a section: `fallback` may give a `currency` for rows that carry none."""
    cols = list(columns or (rows[0].keys() if rows else []))
    fb = fallback or {}
    return Table(
        [(c, labels.column(c)) for c in cols],
        [[cell(c, r.get(c), r, tz, fb) for c in cols] for r in rows],
        _totals(cols, rows, tz, fb),
    )
