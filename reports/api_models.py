"""The pydantic models of the API's answers, generated from `SHAPES`: one model per report section (its
rows), one per report. FastAPI validates every JSON answer with them and writes the OpenAPI document
from them (docs/openapi.json). Money and quantities are decimal strings, as in the shapes."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from omnimeter.reports.model import NOTICE
from omnimeter.reports.shapes import SHAPES

DECIMAL = r"^-?\d+(\.\d+)?$"
_TYPES: dict[str, Any] = {
    "s": str,
    "i": int,
    "d": Annotated[str, Field(pattern=DECIMAL, examples=["12.50"])],
    "p": Annotated[str, Field(pattern=DECIMAL)] | None,
    "D": Annotated[str, Field(json_schema_extra={"format": "date"})] | None,  # null: e.g. no previous period
    "t": Annotated[str, Field(json_schema_extra={"format": "date-time"})] | None,
}


class ErrorBody(BaseModel):
    model_config = ConfigDict(title="Error")

    error: str
    parameter: str | None = Field(default=None, description="The parameter at fault (400)")


class PeriodModel(BaseModel):
    model_config = ConfigDict(title="Period", extra="allow")

    from_: str = Field(alias="from")
    to: str
    time_zone: str
    kind: Literal["days", "instants", "cycle"]


class Freshness(BaseModel):
    newest_event: str | None
    generated_at: str


def ref_name(report: str, section: str | None = None) -> str:
    """The component name: ``report_billing_units`` for a report, ``billing_units__by_unit`` for a section."""
    r = report.replace("-", "_")
    return f"{r}__{section}" if section else f"report_{r}"


@cache
def row_model(report: str, section: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for c in SHAPES[report][section].split():
        col, kind = c.split(":")
        fields[col] = (_TYPES[kind], ...)
    config = ConfigDict(extra="forbid", title=ref_name(report, section))
    return create_model(ref_name(report, section), __config__=config, **fields)


@cache
def report_model(report: str) -> type[BaseModel]:
    config = ConfigDict(extra="forbid", title=f"{ref_name(report)}__sections")
    sections = create_model(
        f"{ref_name(report)}__sections", __config__=config,
        **{s: (list[row_model(report, s)], ...) for s in SHAPES[report]},  # type: ignore[valid-type]
    )  # fmt: skip
    return create_model(
        ref_name(report),
        __config__=ConfigDict(extra="allow", title=ref_name(report)),
        report=(Literal[report], ...),
        estimate=(Literal[True], ...),
        notice=(str, Field(examples=[NOTICE])),
        scope=(str, ...),
        tenants=(list[str], ...),
        period=(PeriodModel, ...),
        freshness=(Freshness, ...),
        directory_version=(str | None, None),
        prices_version=(str | None, None),
        sections=(sections, ...),
    )


class ReportName(BaseModel):
    name: str
    description: str


class ReportList(BaseModel):
    reports: list[ReportName]


class WhoAmI(BaseModel):
    scope: str
