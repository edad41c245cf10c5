"""The reports over HTTP (FastAPI): ``GET /api/v1/reports/{name}`` with a bearer token, JSON (or
``format=csv``).

Served by the worker's HTTP endpoint (the process that holds an embedded chdb store) and by
`omnimeter serve` (a ClickHouse server, or a store no worker holds). Every request but the OpenAPI
document needs ``Authorization: Bearer <token>`` (401 without a valid one); a token's scope limits the
tenants a report covers and anything outside it answers 403 with no data; a bad parameter answers 400
naming it. Parameters are bound, never spliced into SQL. Answers are validated by the pydantic models of
`omnimeter.reports.api_models`, from which FastAPI writes the OpenAPI document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi import Request as HttpRequest
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from omnimeter.errors import OmnimeterError
from omnimeter.reports.api_models import ErrorBody, ReportList, WhoAmI, report_model
from omnimeter.reports.catalog import REPORTS, UnknownReport, run_report
from omnimeter.reports.lines_report import MAX_PAGE_SIZE
from omnimeter.reports.model import Request
from omnimeter.reports.period import GroupBy
from omnimeter.reports.render import Format, render_report
from omnimeter.reports.scope import Forbidden, Kind, NotFound, Role, Scope
from omnimeter.reports.tokens import InvalidToken, Keyring, claims_of, verify
from omnimeter.sinks.clickhouse import ClickHouseStore
from omnimeter.streams.http_guard import BodyTimeout, BodyTooLarge

log = logging.getLogger(__name__)
PREFIX = "/api/v1"
PARAMS = ("tenant", "reseller", "period", "from", "to", "group_by", "tz", "amount", "by", "meter", "currency",
          "cycle", "with_expenses", "page", "page_size", "line", "service", "format")  # fmt: skip


@dataclass(frozen=True)
class Backend:
    """What the HTTP side reads: the store and the keys tokens are verified with."""

    store: ClickHouseStore
    secret: bytes | Keyring


class ApiError(Exception):
    def __init__(self, code: int, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.parameter = code, message, parameter


def error(
    code: int, message: str, parameter: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message, **({"parameter": parameter} if parameter else {})}, code, headers=headers)


def request_of(query: Mapping[str, Sequence[str]]) -> Request:
    unknown = sorted(set(query) - set(PARAMS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown parameter (known: {', '.join(PARAMS)})")
    q = {k: v[-1] for k, v in query.items()}
    amount = None
    if "amount" in q:
        try:
            amount = Decimal(q["amount"])
        except InvalidOperation:
            raise ValueError(f"amount: expected a decimal number, got {q['amount']!r}") from None
    try:
        group_by = GroupBy(q.get("group_by", "month"))
    except ValueError:
        raise ValueError(f"group_by: expected day, week or month, got {q['group_by']!r}") from None
    page, page_size = _bounded(q, "page", 1, 1_000_000), _bounded(q, "page_size", 1, MAX_PAGE_SIZE)
    return Request(
        tenant=q.get("tenant"), reseller=q.get("reseller"), period=q.get("period"), start=q.get("from"),
        end=q.get("to"), group_by=group_by, tz=q.get("tz"), amount=amount, by=q.get("by"), meter=q.get("meter"),
        currency=q.get("currency"), cycle=q.get("cycle"),
        with_expenses=q.get("with_expenses", "false").lower() in ("1", "true", "yes", "on"),
        page=page, page_size=page_size, line=q.get("line"), service=q.get("service"),
    )  # fmt: skip


def _bounded(q: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    if name not in q:
        return None
    text = q[name]
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{name}: expected a whole number from {low} to {high}, got {text!r}")
    return int(text)


def backend(request: HttpRequest) -> Backend:
    found: Backend | None = request.app.state.backend
    if found is None:
        raise ApiError(503, "no store behind this server")
    return found


def platform_guard(secret: bytes | Keyring) -> Callable[[str], tuple[int, str] | None]:
    """For the worker's control endpoint: only a valid platform token with the billing_admin role may pause
    or resume."""

    def check(token: str) -> tuple[int, str] | None:
        try:
            scope = verify(secret, token)
        except InvalidToken as e:
            return 401, f"invalid token: {e}"
        if scope.kind is Kind.PLATFORM and scope.role is Role.BILLING_ADMIN:
            return None
        return 403, f"scope {scope} ({scope.role}) may not control the worker: a platform billing_admin token may"

    return check


def who(request: HttpRequest, keys: bytes | Keyring, token: str) -> Scope:
    """The token's scope (InvalidToken if it is not valid); its subject and scope go to the access log."""
    scope = verify(keys, token)
    request.state.who = f"{claims_of(keys, token).get('sub', '?')} scope={scope}"
    return scope


_bearer = HTTPBearer(auto_error=False, description="A token from `omnimeter token --scope ...`")


def api_scope(
    request: HttpRequest,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    served: Annotated[Backend, Depends(backend)],
) -> Scope:
    """The token's scope (noted for the access log), or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)")
    try:
        scope = who(request, served.secret, credentials.credentials.strip())
    except InvalidToken as e:
        raise ApiError(401, f"invalid token: {e}") from None
    return scope


DATE = {"format": "date"}


def report_query(
    tenant: Annotated[str | None, Query(description="One tenant (must be inside the token's scope)")] = None,
    reseller: Annotated[
        str | None, Query(description="A reseller's dependent companies (platform or that reseller's token)")
    ] = None,
    period: Annotated[
        Literal["today", "this-week", "this-month", "custom"] | None,
        Query(description="today (default), this-week, this-month or custom"),
    ] = None,
    start: Annotated[
        str | None,
        Query(alias="from", description="Custom period start: YYYY-MM-DD (local day, included) or an ISO date-time"),
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", description="Custom period end: YYYY-MM-DD (included) or an ISO date-time")
    ] = None,
    group_by: Annotated[Literal["day", "week", "month"] | None, Query(description="Buckets of time series")] = None,
    tz: Annotated[
        str | None, Query(description="Time zone of today/this week/this month (default: the tenant's, else UTC)")
    ] = None,
    amount: Annotated[
        str | None, Query(pattern=r"^\d+(\.\d+)?$", description="allocation: the amount to split")
    ] = None,
    by: Annotated[
        Literal["billing_unit", "team", "queue", "bot_id"] | None, Query(description="allocation: cost centers")
    ] = None,
    meter: Annotated[
        str | None,
        Query(
            description="allocation: the meter (or meter prefix) whose usage gives the shares; lines: a meter prefix"
        ),
    ] = None,
    currency: Annotated[
        str | None,
        Query(description="allocation: currency of the amount (default: the tenant's); lines: only lines paid in it"),
    ] = None,
    cycle: Annotated[
        str | None,
        Query(description="cycle: a date inside the cycle (default: the current one)", json_schema_extra=DATE),
    ] = None,
    with_expenses: Annotated[
        bool | None, Query(description="resellers: only companies with expenses in the period")
    ] = None,
    page: Annotated[int | None, Query(ge=1, le=1_000_000, description="lines: the page (1-based)")] = None,
    page_size: Annotated[
        int | None,
        Query(ge=1, le=MAX_PAGE_SIZE, description=f"lines: lines per page (default 50, at most {MAX_PAGE_SIZE})"),
    ] = None,
    line: Annotated[
        str | None,
        Query(max_length=1_000, description="event: a line id (source/event_id/line_index) from the lines report"),
    ] = None,
    service: Annotated[
        str | None, Query(description="lines: only the meters of this service (a `service` of the services report)")
    ] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="json (default) or csv")] = None,
) -> None:
    """Declares and checks the parameters (FastAPI: OpenAPI and 400s); `request_of` reads them."""


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": what}
    for code, what in (
        (400, "A parameter is invalid (named in `parameter`)"),
        (401, "Missing or invalid token"),
        (403, "Outside the token's scope: no data"),
        (404, "Unknown report, tenant or reseller"),
    )
}


def _answer(request: HttpRequest, served: Backend, scope: Scope, name: str) -> Any:
    query = {k: request.query_params.getlist(k) for k in request.query_params}
    try:
        fmt = Format(query.get("format", ["json"])[-1])
        if fmt is Format.TABLE:
            raise ValueError("format: json or csv")
        doc = run_report(served.store, name, request_of(query), scope).to_json()
    except Forbidden as e:
        raise ApiError(403, str(e)) from None
    except (UnknownReport, NotFound) as e:
        raise ApiError(404, str(e)) from None
    except (ValueError, OmnimeterError) as e:
        msg = str(e)
        raise ApiError(400, msg, msg.split(":", 1)[0] if ":" in msg else None) from None
    if fmt is Format.CSV:
        return Response(render_report(doc, fmt), media_type="text/csv; charset=utf-8")
    return doc


def _report_endpoint(name: str) -> Callable[..., Any]:
    def endpoint(
        request: HttpRequest,
        scope: Annotated[Scope, Depends(api_scope)],
        served: Annotated[Backend, Depends(backend)],
        _params: Annotated[None, Depends(report_query)],
    ) -> Any:
        return _answer(request, served, scope, name)

    return endpoint


def router() -> APIRouter:
    api = APIRouter(prefix=PREFIX, tags=["reports"])

    @api.get("/whoami", response_model=WhoAmI, summary="The token's scope", responses=_ERRORS)
    def whoami(scope: Annotated[Scope, Depends(api_scope)]) -> dict[str, str]:
        return {"scope": str(scope)}

    @api.get("/reports", response_model=ReportList, summary="The reports", responses=_ERRORS)
    def reports(_scope: Annotated[Scope, Depends(api_scope)]) -> dict[str, Any]:
        return {"reports": [{"name": n, "description": d} for n, (_b, d) in REPORTS.items()]}

    for name, (_builder, description) in REPORTS.items():
        api.add_api_route(
            f"/reports/{name}", _report_endpoint(name), methods=["GET"], response_model=report_model(name),
            response_model_exclude_unset=True, summary=f"The {name} report (an estimate)", description=description,
            operation_id=f"report_{name.replace('-', '_')}",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **_ERRORS},
        )  # fmt: skip

    @api.get("/reports/{name}", include_in_schema=False)
    def unknown(name: str, _scope: Annotated[Scope, Depends(api_scope)]) -> None:
        raise ApiError(404, f"report: unknown report {name!r}; one of {', '.join(REPORTS)}")

    return api


def install_errors(app: FastAPI) -> None:
    """Every error of the app answers ``{"error": ..., "parameter": ...}``."""

    @app.exception_handler(ApiError)
    def api_error(_request: HttpRequest, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == 401 else None
        return error(exc.code, exc.message, exc.parameter, headers)

    @app.exception_handler(RequestValidationError)
    def bad_parameter(_request: HttpRequest, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        name = str(first["loc"][-1]) if first.get("loc") else None
        got = first.get("input")
        message = f"{name}: {first['msg'][0].lower()}{first['msg'][1:]}" + (f", got {got!r}" if got is not None else "")
        return error(400, message, name)

    @app.exception_handler(ResponseValidationError)
    def bad_answer(request: HttpRequest, exc: ResponseValidationError) -> JSONResponse:
        log.error("%s: the answer does not match its documented shape: %s", request.url.path, exc.errors()[:3])
        return error(500, "the report failed; see the server log")

    @app.exception_handler(HTTPException)
    def http_error(_request: HttpRequest, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail).lower()}, exc.status_code, headers=exc.headers)

    @app.exception_handler(BodyTimeout)
    def slow_body(_request: HttpRequest, exc: BodyTimeout) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, 408, headers={"Connection": "close"})

    @app.exception_handler(BodyTooLarge)
    def big_body(_request: HttpRequest, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, 413, headers={"Connection": "close"})

    @app.exception_handler(Exception)
    def failed(request: HttpRequest, exc: Exception) -> JSONResponse:
        log.error("%s failed", request.url.path, exc_info=exc)
        return error(500, "the report failed; see the server log")
