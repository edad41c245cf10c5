"""Shared fixtures: one real Kafka broker per test session (fetched with Maven like `omnimeter kafka up`),
and per test its own topics, consumer group and ClickHouse data directory."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

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
