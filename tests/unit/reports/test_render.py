"""Producer strings in report outputs: CSV cells never run as formulas, tables never run markup or
terminal escapes."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from omnimeter.reports.render import Format, render
from omnimeter.reports.section import Section

HOSTILE = ['=HYPERLINK("http://evil","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_csv_cells_that_would_be_formulas_are_text() -> None:
    out = render([Section("users", ["name", "cost"], [[h, Decimal("-1.00")] for h in HOSTILE])], Format.CSV)
    rows = list(csv.reader(io.StringIO(out)))[1:]
    assert [r[1] for r in rows] == ["'" + h for h in HOSTILE]
    assert {r[2] for r in rows} == {"-1.00"}  # a negative amount stays a number


def test_table_cells_are_plain_text_without_control_characters() -> None:
    rows = [["[/bold]", "[red]x[/red]", "a\x1b[2Jb", "line\x07"]]
    out = render([Section("users", ["a", "b", "c", "d"], rows)], Format.TABLE)
    assert "[/bold]" in out and "[red]x[/red]" in out  # printed as written, no crash
    assert "\x1b" not in out and "\x07" not in out and "a?[2Jb" in out
