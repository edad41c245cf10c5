"""Shared fixtures: one real Kafka broker per test session (fetched with Maven like `omnimeter kafka up`),
and per test its own topics, consumer group and ClickHouse data directory.

`make test` runs the suite in two pytest-xdist processes (`pytest -n 2`), each with its own broker: the
dashboard suite stays whole in one process, so does every other module (in its order), and each fault
scenario goes wherever a process is free. The fault figures travel from the processes that ran them to the
one that prints the summary."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omnimeter.cli.localkafka import LocalKafka
from omnimeter.settings import KafkaSettings, Settings, Topics, WorkerSettings
from omnimeter.streams.kafka_admin import ensure_topics, topic_specs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cache_dir() -> Path:
    return Path(os.environ.get("OMNIMETER_CACHE_DIR", Path.home() / ".cache" / "omnimeter"))


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bootstrap address of a real single-node Apache Kafka broker for the whole session."""
    port = free_port()
    broker = LocalKafka(tmp_path_factory.mktemp("kafka"), _cache_dir(), port=port, controller_port=free_port())
    bootstrap = broker.up()
    yield bootstrap
    broker.down()


@pytest.fixture
def settings(kafka: str, tmp_path: Path) -> Settings:
    """Settings of one isolated pipeline: own topics, group, metrics port and chdb store."""
    tag = uuid.uuid4().hex[:8]
    s = Settings(
        data_dir=tmp_path,
        cache_dir=_cache_dir(),
        kafka=KafkaSettings(bootstrap=kafka, consumer_group=f"omnimeter-test-{tag}"),
        worker=WorkerSettings(web_port=free_port()),
        topics=Topics(
            usage=f"usage-{tag}", dlq=f"dlq-{tag}", reference=f"ref-{tag}", alerts=f"alerts-{tag}", usage_partitions=4
        ),
    )
    ensure_topics(kafka, topic_specs(s.topics))
    return s


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scope scheduling with our scopes: the dashboard suite shares one package fixture (a site with
    60 days of traffic) and runs in one process; a module's tests may share a module fixture and run in
    order in one process; each fault scenario stands alone and goes wherever a process is free."""
    from xdist.scheduler import LoadScopeScheduling

    class SuiteScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path.startswith("tests/e2e/"):
                return "tests/e2e"
            return nodeid if path.startswith("tests/faults/") else path

    return SuiteScheduling(config, log)


def _figures() -> list[dict[str, Any]]:
    from tests.faults.harness import FIGURES

    return FIGURES


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = getattr(session.config, "workeroutput", None)  # set in an xdist worker only
    if out is not None:
        out["fault_figures"] = json.dumps(_figures())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    _figures().extend(json.loads(getattr(node, "workeroutput", {}).get("fault_figures", "[]")))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fault-injection suite prints its figures at the end of the run, whatever pytest's verbosity."""
    figures = _figures()
    if not figures:
        return
    tr = terminalreporter
    tr.section("fault injection: figures")
    cols = list(figures[0])
    for row in figures:
        tr.write_line(" | ".join(f"{c}: {row[c]}" for c in cols))
    tr.write_line(
        f"total: {sum(r['events sent'] for r in figures)} events sent, "
        f"{sum(r['lost'] for r in figures)} lost, {sum(r['double-counted'] for r in figures)} double-counted"
    )
