"""The worker's own endpoints: GET /metrics (Prometheus), GET /healthz (and /health), POST /pause and
POST /resume (and, in fault-injection runs only, POST /faults/sink-down).

Pausing stops the ingest agent from taking records (the worker stays in its consumer group, keeps its
partitions and keeps serving metrics, so lag visibly grows); resuming continues where it stopped.
Anything that changes state needs ``Authorization: Bearer <platform token>``: a header, never a cookie,
so a cross-site form or fetch cannot pause a worker. The check itself (`Authorize`) is given by the
caller (the CLI passes the reports' token verification). The worker's HTTP server also answers the
reports API and the dashboard (the worker holds the store): `omnimeter.cli.worker` composes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from omnimeter.faults import NO_FAULTS, Faults
from omnimeter.streams.metrics import WorkerMetrics

# The bearer token of a state-changing request -> None when allowed, else (401 or 403, why).
Authorize = Callable[[str], tuple[int, str] | None]
Auth = Annotated[str | None, Header()]


class PauseSwitch:
    """An asyncio event the agent waits on, flipped from the HTTP thread."""

    def __init__(self, metrics: WorkerMetrics) -> None:
        self.metrics = metrics
        self.running = asyncio.Event()
        self.running.set()
        self.loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def set(self, running: bool) -> None:
        self.metrics.paused.set(0 if running else 1)
        if self.loop is None:
            return
        self.loop.call_soon_threadsafe(self.running.set if running else self.running.clear)


def _denied(authorize: Authorize, authorization: str | None) -> JSONResponse | None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return JSONResponse(
            {"error": "missing bearer token (Authorization: Bearer <platform token>)"}, 401,
            headers={"WWW-Authenticate": "Bearer"},
        )  # fmt: skip
    refused = authorize(token.strip())
    return JSONResponse({"error": refused[1]}, refused[0]) if refused else None


def control_router(
    authorize: Authorize, metrics: WorkerMetrics | None = None, switch: PauseSwitch | None = None,
    faults: Faults = NO_FAULTS,
) -> APIRouter:  # fmt: skip
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    @router.get("/health")
    def health() -> dict[str, str]:
        paused = switch is not None and not switch.running.is_set()
        return {"status": "paused" if paused else "running"}

    if metrics is not None:
        registry = metrics.registry

        @router.get("/metrics")
        def prometheus() -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    if switch is not None:
        pause_switch = switch

        @router.post("/pause")
        def pause(authorization: Auth = None) -> Response:
            return _denied(authorize, authorization) or _flip(pause_switch, running=False)

        @router.post("/resume")
        def resume(authorization: Auth = None) -> Response:
            return _denied(authorize, authorization) or _flip(pause_switch, running=True)

    if faults.enabled:

        @router.post("/faults/sink-down")
        def sink_down(
            authorization: Auth = None, seconds: Annotated[float, Query()] = 10.0, inserts: Annotated[int, Query()] = 0
        ) -> Response:
            denied = _denied(authorize, authorization)
            if denied:
                return denied
            faults.sink_down_for(seconds, inserts_only=inserts == 1)
            return JSONResponse({"sink_down_s": seconds})

    return router


def _flip(switch: PauseSwitch, running: bool) -> JSONResponse:
    switch.set(running)
    return JSONResponse({"status": "resumed" if running else "paused"})
