"""One isolated pipeline on the session's broker: its own topics, consumer group, HTTP port and store,
with a directory and the reference price books applied through the CLI, as an operator would."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

from omnimeter.cli.workerproc import settings_env
from omnimeter.settings import KafkaSettings, Settings, Topics, WorkerSettings
from omnimeter.streams.kafka_admin import ensure_topics, topic_specs
from tests.conftest import free_port
from tests.integration.rating_check import REF


def isolated_settings(bootstrap: str, data_dir: Path, prefix: str, **overrides: Any) -> Settings:
    tag = uuid.uuid4().hex[:8]
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        data_dir=data_dir,
        kafka=KafkaSettings(bootstrap=bootstrap, consumer_group=f"{prefix}-{tag}"),
        worker=WorkerSettings(web_port=free_port()),
        topics=Topics(
            usage=f"usage-{tag}", dlq=f"dlq-{tag}", reference=f"ref-{tag}", alerts=f"alerts-{tag}", usage_partitions=4
        ),
    ).replace(**overrides)
    ensure_topics(bootstrap, topic_specs(settings.topics))
    return settings


def apply_reference(settings: Settings, directory: dict[str, Any], path: Path) -> None:
    """Write `directory` to `path` and apply it and deploy/reference/prices.yaml with the CLI."""
    path.write_text(yaml.safe_dump(directory, sort_keys=False))
    for kind, file in (("directory", path), ("prices", REF / "prices.yaml")):
        subprocess.run([sys.executable, "-m", "omnimeter", kind, "apply", str(file)], check=True,
                       env=settings_env(settings), capture_output=True, timeout=60)  # fmt: skip
