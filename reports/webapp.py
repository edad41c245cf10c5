"""The read side's HTTP app (FastAPI): the reports API under /api/v1 and the dashboard under /ui, plus
whatever routes the caller adds (the worker adds /metrics, /healthz and its control endpoint).

`openapi()` is FastAPI's document of the API, written from the pydantic models of the answers;
docs/openapi.json is `omnimeter openapi > docs/openapi.json` and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from omnimeter.reports import api
from omnimeter.reports.api import Backend
from omnimeter.reports.model import NOTICE
from omnimeter.reports.web import app as dashboard


def build_app(served: Backend | None, extra: Sequence[APIRouter] = ()) -> FastAPI:
    app = FastAPI(
        title="omnimeter reports", version="1", description=NOTICE, openapi_url=f"{api.PREFIX}/openapi.json",
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
    )  # fmt: skip
    app.state.backend = served
    api.install_errors(app)
    app.include_router(api.router())
    app.include_router(dashboard.router())
    for router in extra:
        app.include_router(router)
    app.openapi = lambda: _document(app)  # type: ignore[method-assign]
    return app


def _document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, without the 422 answers it adds by default (bad parameters answer 400 here)."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes,
            openapi_version=app.openapi_version,
        )  # fmt: skip
        for path in doc["paths"].values():
            for operation in path.values():
                operation["responses"].pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            doc["components"]["schemas"].pop(name, None)
        app.openapi_schema = doc
    return app.openapi_schema


def openapi() -> dict[str, Any]:
    return build_app(None).openapi()
