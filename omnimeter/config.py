"""Settings, one class per component, read from flags or ``OMNIMETER_*`` environment variables.

Every component validates its own settings at start-up; `load_settings` collects every problem of every
component at once and raises one `ConfigError` listing them.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from omnimeter.exceptions import ConfigError

DEFAULT_DATA_DIR = Path(".omnimeter")


class Topics(BaseSettings):
    """Kafka topic names and partition counts."""

    model_config = SettingsConfigDict(env_prefix="OMNIMETER_TOPIC_", extra="ignore")

    usage: str = "omnimeter.usage.v1"
    dlq: str = "omnimeter.usage.dlq.v1"
    reference: str = "omnimeter.reference.v1"
    usage_partitions: int = Field(default=6, ge=1)
    dlq_partitions: int = Field(default=3, ge=1)


class Settings(BaseSettings):
    """Everything a worker, the CLI or a test needs to know."""

    model_config = SettingsConfigDict(env_prefix="OMNIMETER_", extra="ignore")

    data_dir: Path = DEFAULT_DATA_DIR
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "omnimeter")
    kafka_bootstrap: str = "127.0.0.1:9092"
    clickhouse_url: str = ""  # empty: chdb://<data_dir>/clickhouse
    clickhouse_database: str = "omnimeter"
    consumer_group: str = "omnimeter"
    worker_id: str = Field(default_factory=socket.gethostname)  # names this worker's local table store

    batch_max_events: int = Field(default=20_000, ge=1)
    flush_interval_s: float = Field(default=1.0, gt=0)
    max_record_bytes: int = Field(default=1_048_576, ge=1024)
    dedupe_window_days: int = Field(default=35, ge=1)
    max_future_skew_s: int = Field(default=300, ge=0)
    insert_retry_max_s: float = Field(default=0.0, ge=0)  # 0: retry until it works
    event_loop: Literal["asyncio", "uvloop"] = "asyncio"  # the worker's event loop
    worker_web_port: int = Field(default=6066, ge=0, le=65535)  # /metrics; 0: off
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 in a container
    api_secret: str = Field(default="", repr=False)  # signs API tokens; empty: <data_dir>/api_secret

    topics: Topics = Field(default_factory=Topics)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_has_port(cls, v: str) -> str:
        for hp in v.split(","):
            host, _, port = hp.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {v!r}")
        return v

    @field_validator("clickhouse_url")
    @classmethod
    def _url_scheme(cls, v: str) -> str:
        if v and not v.startswith(("chdb://", "http://", "https://", "omnimeter://")):
            raise ValueError(
                f"expected chdb://PATH, http://HOST:8123, https://HOST:8443 or omnimeter://HOST:PORT, got {v!r}"
            )
        return v

    @property
    def resolved_clickhouse_url(self) -> str:
        if self.clickhouse_url:
            return self.clickhouse_url
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus explicit overrides; every problem is reported at once."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as e:
        lines = [f"  - {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None
