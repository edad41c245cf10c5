"""`omnimeter worker`: open the store, build the app, serve /metrics, control, the reports API and the
dashboard (uvicorn in a thread), run until stopped."""

from __future__ import annotations

import logging
import signal

import faust
import mode.loop
from clickhouse_connect.driver import options as clickhouse_options
from prometheus_client import CollectorRegistry

from omnimeter.errors import OmnimeterError
from omnimeter.faults import Faults
from omnimeter.reports.alert_gauges import ActiveAlertsCollector, active_alerts
from omnimeter.reports.alerts import AlertEvaluator
from omnimeter.reports.api import Backend, platform_guard
from omnimeter.reports.tenant_gauges import TenantCycleCollector, current_warnings
from omnimeter.reports.tokens import keyring_for
from omnimeter.reports.webapp import build_app
from omnimeter.settings import Settings
from omnimeter.sinks.base import Store
from omnimeter.sinks.clickhouse import connect
from omnimeter.sinks.rollups import refresh_quietly
from omnimeter.streams import interpreter
from omnimeter.streams.alerts import AlertLog, AlertPublisher, AlertStage
from omnimeter.streams.control import PauseSwitch, control_router
from omnimeter.streams.faust.app import create_app
from omnimeter.streams.lag import LagPoller
from omnimeter.streams.metrics import WorkerMetrics
from omnimeter.streams.reference import KINDS, ReferenceData
from omnimeter.streams.webserver import WebServer

log = logging.getLogger(__name__)


def restore_reference(reference: ReferenceData, store: Store) -> None:
    """Kinds the topic gave no good version of: the last version the workers mirrored, if any."""
    for kind in KINDS:
        if reference.applied(kind) is not None:
            continue
        try:
            rows = store.query_rows(
                f"SELECT source FROM {store.db}.reference_versions WHERE kind = %(k)s ORDER BY applied_at DESC LIMIT 1",
                {"k": kind},
            )
        except Exception as e:  # no store yet: nothing to restore
            log.warning("cannot read the last applied %s from the store: %s", kind, e)
            continue
        if rows:
            reference.restore(kind, rows[0][0], f"{store.db}.reference_versions")


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    """Blocks until the worker stops (SIGTERM/SIGINT stop it gracefully; unflushed records are not acked
    and are consumed again by the next owner of their partition)."""
    faults = Faults(settings.faults)
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse.database, faults=faults)
    # clickhouse-connect imports pandas (when installed; chdb brings it) on the first insert: about 2 s
    # that would otherwise delay the first flush, so import it now.
    getattr(clickhouse_options, "pd", None)
    metrics = WorkerMetrics(CollectorRegistry())
    metrics.stages.watch_gc()
    metrics.registry.register(TenantCycleCollector(lambda: current_warnings(store)))  # alerts per tenant
    metrics.registry.register(ActiveAlertsCollector(lambda: active_alerts(store)))
    store.observer = metrics
    switch = PauseSwitch(metrics)
    web = None
    if settings.worker.web_port:  # the reports API and dashboard (this process holds the store), and control
        secret = keyring_for(settings)
        control = control_router(platform_guard(secret), metrics, switch, faults)
        app = build_app(Backend(store, secret), [control])
        web = WebServer(app, settings.worker.host, settings.worker.web_port, settings.http).start()
    lag = LagPoller(settings.kafka, settings.kafka.consumer_group, settings.topics.usage, metrics).start()
    reference = ReferenceData(
        settings.kafka,
        settings.topics.reference,
        on_applied=lambda a: metrics.reference_applied(a.kind, a.version),
        on_refused=lambda kind, reason, _msg: metrics.reference_refused.labels(kind, reason).inc(),
    )
    reference.start()
    restore_reference(reference, store)
    if reference.directory is None or reference.books is None:
        log.warning("no directory or price books applied yet: events are stored but not rated until they are")
    if settings.faust.event_loop == "uvloop":
        mode.loop.use("uvloop")
    fatal: list[BaseException] = []

    def on_fatal(error: BaseException) -> None:  # a permanent error: stop as SIGTERM does, then exit non-zero
        fatal.append(error)
        signal.raise_signal(signal.SIGTERM)

    alerts = None
    if settings.ingest.alert_interval_s > 0:
        alert_log = AlertLog(settings.kafka, settings.topics.alerts)
        publisher = AlertPublisher(settings.kafka, settings.topics.alerts, store, alert_log, metrics)
        alerts = AlertStage(AlertEvaluator(store), publisher, settings.ingest.alert_interval_s, metrics,
                            times=metrics.stages)  # fmt: skip
    app = create_app(settings, store, metrics, reference, switch, faults, on_fatal, alerts)
    # what start-up built is never collected again; the GIL changes hands less often (streams/interpreter.py)
    interpreter.settle(settings.worker.gc_young_threshold, settings.worker.gil_switch_interval_s)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    try:
        try:
            worker.execute_from_commandline()
        except SystemExit:
            if not fatal:
                raise
        if fatal:
            error = fatal[0]
            if isinstance(error, OmnimeterError):
                raise OmnimeterError(f"worker stopped: {error}") from error
            raise OmnimeterError(f"worker stopped by an unexpected error: {error!r}") from error
    finally:
        if web is not None:
            web.stop()
        lag.stop()
        refresh_quietly(store, reference.directory.time_zones() if reference.directory else {})  # reports current
        reference.stop()
        if alerts is not None:
            alerts.close()
        store.close()
