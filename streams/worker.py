"""`omnimeter worker`: open the store, build the app, expose /metrics, run until stopped."""

from __future__ import annotations

import logging

import faust
import mode.loop
from clickhouse_connect.driver import options as clickhouse_options
from prometheus_client import CollectorRegistry

from omnimeter.config import Settings
from omnimeter.tokens import load_secret
from reports.api import ReportsAPI
from reports.web.app import Dashboard
from sinks.clickhouse import connect
from sinks.rollups import refresh_quietly
from streams.app import create_app
from streams.control import PauseSwitch, serve
from streams.lag import LagPoller
from streams.metrics import WorkerMetrics
from streams.reference import ReferenceData

log = logging.getLogger(__name__)


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    """Blocks until the worker stops (SIGTERM/SIGINT stop it gracefully; unflushed records are not acked
    and are consumed again by the next owner of their partition)."""
    store = connect(settings.resolved_clickhouse_url, settings.clickhouse_database)
    # clickhouse-connect imports pandas (when installed; chdb brings it) on the first insert: about 2 s
    # that would otherwise delay the first flush, so import it now.
    getattr(clickhouse_options, "pd", None)
    metrics = WorkerMetrics(CollectorRegistry())
    store.observer = metrics
    switch = PauseSwitch(metrics)
    if settings.worker_web_port:
        secret = load_secret(settings.data_dir, settings.api_secret)
        serve(
            settings.metrics_host, settings.worker_web_port, metrics, switch, ReportsAPI(store, secret),
            Dashboard(store, secret),
        )  # fmt: skip
    lag = LagPoller(settings.kafka_bootstrap, settings.consumer_group, settings.topics.usage, metrics).start()
    reference = ReferenceData(
        settings.kafka_bootstrap,
        settings.topics.reference,
        on_refused=lambda kind, _msg: metrics.reference_refused.labels(kind).inc(),
    )
    reference.start()
    if reference.directory is None or reference.books is None:
        log.warning("no directory or price books applied yet: events are stored but not rated until they are")
    if settings.event_loop == "uvloop":
        mode.loop.use("uvloop")
    app = create_app(settings, store, metrics, reference, switch)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        lag.stop()
        refresh_quietly(store, reference.directory.time_zones() if reference.directory else {})  # reports current
        reference.stop()
        store.close()
