"""The documented shape of the reports: docs/reports.md lists every column, docs/openapi.json is current."""

from __future__ import annotations

import json
from pathlib import Path

from omnimeter.reports.shapes import SHAPES, columns
from omnimeter.reports.webapp import openapi

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_docs_list_every_section_and_column() -> None:
    text = (DOCS / "reports.md").read_text()
    for report, sections in SHAPES.items():
        assert f"## {report}" in text
        for section in sections:
            assert f"### `{section}`" in text
            for col in columns(report, section):
                assert f"| `{col}` |" in text, f"{report}.{section}.{col} is not documented"


def test_openapi_document_in_docs_is_current() -> None:
    assert json.loads((DOCS / "openapi.json").read_text()) == openapi(), (
        "regenerate: omnimeter openapi > docs/openapi.json"
    )
