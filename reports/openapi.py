"""The OpenAPI 3.1 document of the reports API, generated from the report registry and `SHAPES`.

docs/openapi.json is this document, written by `omnimeter openapi > docs/openapi.json`; a test keeps the
two equal, so a change of a report's shape shows up in review.
"""

from __future__ import annotations

from typing import Any

from omnimeter.reports.model import NOTICE
from omnimeter.reports.shapes import SHAPES, row_schema

_PARAMS: list[tuple[str, str, dict[str, Any]]] = [
    ("tenant", "One tenant (must be inside the token's scope)", {"type": "string"}),
    ("reseller", "A reseller's dependent companies (platform or that reseller's token)", {"type": "string"}),
    ("period", "today (default), this-week, this-month or custom",
     {"type": "string", "enum": ["today", "this-week", "this-month", "custom"]}),
    ("from", "Custom period start: YYYY-MM-DD (local day, included) or an ISO date-time", {"type": "string"}),
    ("to", "Custom period end: YYYY-MM-DD (included) or an ISO date-time (excluded)", {"type": "string"}),
    ("group_by", "Buckets of time series", {"type": "string", "enum": ["day", "week", "month"]}),
    ("tz", "Time zone of today/this week/this month (default: the tenant's, else UTC)", {"type": "string"}),
    ("amount", "allocation: the amount to split", {"type": "string", "pattern": r"^\d+(\.\d+)?$"}),
    ("by", "allocation: cost centers", {"type": "string", "enum": ["billing_unit", "team", "queue", "bot_id"]}),
    ("meter", "allocation: the meter (or meter prefix) whose usage gives the shares", {"type": "string"}),
    ("currency", "allocation: currency of the amount (default: the tenant's)", {"type": "string"}),
    ("cycle", "cycle: a date inside the cycle (default: the current cycle)", {"type": "string", "format": "date"}),
    ("with_expenses", "resellers: only companies with expenses in the period", {"type": "boolean"}),
    ("format", "json (default) or csv", {"type": "string", "enum": ["json", "csv"]}),
]  # fmt: skip


def report_schema(name: str) -> dict[str, Any]:
    nullable_str = {"type": ["string", "null"]}
    return {
        "type": "object",
        "required": ["report", "estimate", "notice", "scope", "tenants", "period", "freshness", "sections"],
        "properties": {
            "report": {"const": name},
            "estimate": {"const": True},
            "notice": {"type": "string", "examples": [NOTICE]},
            "scope": {"type": "string"},
            "tenants": {"type": "array", "items": {"type": "string"}},
            "period": {
                "type": "object",
                "required": ["from", "to", "time_zone", "kind"],
                "properties": {
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                    "time_zone": {"type": "string"},
                    "kind": {"enum": ["days", "instants", "cycle"]},
                },
            },
            "freshness": {
                "type": "object",
                "required": ["newest_event", "generated_at"],
                "properties": {"newest_event": nullable_str, "generated_at": {"type": "string"}},
            },
            "directory_version": {"type": "string"},
            "prices_version": {"type": "string"},
            "sections": {
                "type": "object",
                "required": list(SHAPES[name]),
                "additionalProperties": False,
                "properties": {
                    s: {"type": "array", "items": {"$ref": f"#/components/schemas/{_ref(name, s)}"}}
                    for s in SHAPES[name]
                },
            },
        },
    }


def _ref(report: str, section: str) -> str:
    return f"{report.replace('-', '_')}.{section}"


def openapi() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "parameter": {"type": "string"}}}}  # fmt: skip
    paths: dict[str, Any] = {}
    for name in SHAPES:
        schemas[f"report.{name.replace('-', '_')}"] = report_schema(name)
        for s in SHAPES[name]:
            schemas[_ref(name, s)] = row_schema(name, s)
        paths[f"/api/v1/reports/{name}"] = {
            "get": {
                "summary": f"The {name} report (an estimate)",
                "operationId": f"report_{name.replace('-', '_')}",
                "parameters": [
                    {"name": n, "in": "query", "required": False, "description": d, "schema": sch}
                    for n, d, sch in _PARAMS
                ],
                "responses": {
                    "200": {
                        "description": "The report",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/report.{name.replace('-', '_')}"}
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **{
                        code: {
                            "description": what,
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                        }
                        for code, what in (
                            ("400", "A parameter is invalid (named in `parameter`)"),
                            ("401", "Missing or invalid token"),
                            ("403", "Outside the token's scope: no data"),
                            ("404", "Unknown report, tenant or reseller"),
                        )
                    },
                },
            }
        }
    paths["/api/v1/reports"] = {"get": {"summary": "The reports", "responses": {"200": {"description": "names"}}}}
    paths["/api/v1/whoami"] = {"get": {"summary": "The token's scope", "responses": {"200": {"description": "scope"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "omnimeter reports", "version": "1", "description": NOTICE},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
