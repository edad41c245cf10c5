"""Settings, one class per component, read from flags or ``OMNIMETER_*`` environment variables.

| component            | class              | environment                       |
|----------------------|--------------------|-----------------------------------|
| Kafka connection     | `KafkaSettings`    | ``OMNIMETER_KAFKA_*``             |
| topic names          | `Topics`           | ``OMNIMETER_TOPIC_*``             |
| Faust tuning         | `FaustSettings`    | ``OMNIMETER_FAUST_*``             |
| ClickHouse           | `ClickHouseSettings` | ``OMNIMETER_CLICKHOUSE_*``      |
| ingest (flush, bounds) | `IngestSettings` | ``OMNIMETER_<field>`` (e.g. ``OMNIMETER_BATCH_MAX_EVENTS``) |
| reports API          | `ApiSettings`      | ``OMNIMETER_API_*``               |
| worker process       | `WorkerSettings`   | ``OMNIMETER_WORKER_*``            |

`load_settings` builds every component and reports every problem of every component at once in one
`ConfigError`. Secrets are `SecretStr` (printed as ``**********``); a URL is printed with its password
masked (`mask_url`). Imports nothing of the project but the error tree.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from omnimeter.errors import ConfigError

DEFAULT_DATA_DIR = Path(".omnimeter")


def mask_url(url: str) -> str:
    """`url` with the password of its user part replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class KafkaSettings(BaseSettings):
    """Where the broker is, which consumer group the workers form, and how every client authenticates
    (SASL and TLS; streams/kafka_clients.py maps these onto Faust/aiokafka and confluent-kafka)."""

    model_config = SettingsConfigDict(env_prefix="OMNIMETER_KAFKA_", extra="ignore")

    bootstrap: str = "127.0.0.1:9092"
    consumer_group: str = "omnimeter"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str = ""
    sasl_password: SecretStr = SecretStr("")
    ssl_cafile: str = ""  # CA bundle (PEM) that signed the brokers' certificates; empty: the system's
    ssl_certfile: str = ""  # client certificate (PEM), for brokers that require mutual TLS
    ssl_keyfile: str = ""
    ssl_key_password: SecretStr = SecretStr("")
    ssl_check_hostname: bool = True

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @model_validator(mode="after")
    def _security_complete(self) -> KafkaSettings:
        if self.uses_sasl and not (self.sasl_username and self.sasl_password.get_secret_value()):
            raise ValueError(f"security_protocol {self.security_protocol} needs sasl_username and sasl_password")
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(self, name)
            if path and not self.uses_tls:
                raise ValueError(f"{name} is set but security_protocol {self.security_protocol} does not use TLS")
            if path and not Path(path).is_file():
                raise ValueError(f"{name} {path!r} is not a readable file")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ValueError("ssl_certfile and ssl_keyfile go together (mutual TLS)")
        return self

    @field_validator("bootstrap")
    @classmethod
    def _bootstrap_has_port(cls, v: str) -> str:
        for hp in v.split(","):
            host, _, port = hp.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {v!r}")
        return v


class Topics(BaseSettings):
    """Kafka topic names and partition counts."""

    model_config = SettingsConfigDict(env_prefix="OMNIMETER_TOPIC_", extra="ignore")

    usage: str = "omnimeter.usage.v1"
    dlq: str = "omnimeter.usage.dlq.v1"
    reference: str = "omnimeter.reference.v1"
    alerts: str = "omnimeter.alerts.v1"  # compacted, keyed by alert id (schemas/alerts.py)
    alerts_partitions: int = Field(default=3, ge=1)
    usage_partitions: int = Field(default=6, ge=1)
    dlq_partitions: int = Field(default=3, ge=1)


class FaustSettings(BaseSettings):
    """Tuning of the Faust app and its aiokafka consumer and producer (defaults measured by `make bench`)."""

    model_config = SettingsConfigDict(env_prefix="OMNIMETER_FAUST_", extra="ignore")

    commit_interval_s: float = Field(default=0.5, gt=0)
    session_timeout_s: float = Field(default=10.0, gt=0)
    heartbeat_interval_s: float = Field(default=3.0, gt=0)
    max_poll_records: int = Field(default=2000, ge=1)
    stream_buffer_maxsize: int = Field(default=20_000, ge=1)
    producer_compression: Literal["zstd", "lz4", "gzip", "snappy", "none"] = "zstd"
    producer_linger_s: float = Field(default=0.02, ge=0)  # batches the window changelog (one write per message)
    producer_max_batch_bytes: int = Field(default=262_144, ge=1024)
    producer_max_request_bytes: int = Field(default=1_000_000, ge=1024)
    event_loop: Literal["asyncio", "uvloop"] = "asyncio"


class ClickHouseSettings(BaseSettings):
    """The store: ``chdb://PATH`` (embedded), ``http(s)://HOST:PORT`` or ``omnimeter://HOST:PORT`` (shared)."""

    model_config = SettingsConfigDict(env_prefix="OMNIMETER_CLICKHOUSE_", extra="ignore")

    url: str = ""  # empty: chdb://<data_dir>/clickhouse
    database: str = "omnimeter"

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, v: str) -> str:
        if v and not v.startswith(("chdb://", "http://", "https://", "omnimeter://")):
            raise ValueError(
                "expected chdb://PATH, http://HOST:8123, https://HOST:8443 or omnimeter://HOST:PORT, "
                f"got {mask_url(v)!r}"
            )
        return v


class IngestSettings(BaseSettings):
    """How records are batched, bounded and deduplicated on the way in."""

    model_config = SettingsConfigDict(env_prefix="OMNIMETER_", extra="ignore")

    batch_max_events: int = Field(default=20_000, ge=1)
    flush_interval_s: float = Field(default=1.0, gt=0)
    max_record_bytes: int = Field(default=1_048_576, ge=1024)
    dedupe_window_days: int = Field(default=35, ge=1)
    max_future_skew_s: int = Field(default=300, ge=0, le=366 * 24 * 3600)  # schemas.bounds.MAX_FUTURE_SKEW
    # Events before this are dead-lettered (time_out_of_range): a zero timestamp (1970-01-01) is a producer
    # bug, not usage. Not before 1971-01-01 (schemas.bounds.EARLIEST_EVENT_TIME: the Date column's range).
    min_event_time: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    insert_retry_max_s: float = Field(default=0.0, ge=0)  # 0: retry until it works
    # thresholds of the tenants whose lines were stored are evaluated at most this often (0: alerts off)
    alert_interval_s: float = Field(default=5.0, ge=0)

    @field_validator("min_event_time")
    @classmethod
    def _min_event_time_in_range(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2000-01-01T00:00:00Z")
        if v < datetime(1971, 1, 1, tzinfo=UTC):
            raise ValueError("must not be before 1971-01-01T00:00:00Z (billing cycles must start after 1970-01-01)")
        return v


class ApiSettings(BaseSettings):
    """The reports API and dashboard."""

    model_config = SettingsConfigDict(env_prefix="OMNIMETER_API_", extra="ignore")

    secret: SecretStr = SecretStr("")  # signs API tokens (>= 32 bytes); empty: <data_dir>/api_secret
    previous_secrets: SecretStr = SecretStr("")  # comma-separated KEY@RETIRED_AT (Unix s): verify after a rotation
    oidc_issuer: str = ""  # the platform's identity provider: its tokens verify too when all three are set
    oidc_audience: str = ""
    oidc_jwks_url: str = ""
    oidc_scope_claim: str = "omnimeter_scope"  # claim holding platform | reseller:ID | tenant:ID
    oidc_role_claim: str = "omnimeter_role"


class HttpSettings(BaseSettings):
    """The HTTP server of the worker and of `omnimeter serve` (uvicorn): its limits."""

    model_config = SettingsConfigDict(env_prefix="OMNIMETER_HTTP_", extra="ignore")

    limit_concurrency: int = Field(default=64, ge=1)  # connections or requests at once; more answer 503
    keep_alive_s: int = Field(default=5, ge=1)  # an idle connection is closed after this
    body_timeout_s: float = Field(default=10.0, gt=0)  # a request body must arrive within this
    max_body_bytes: int = Field(default=65_536, ge=1024)  # larger bodies answer 413
    request_timeout_s: float = Field(default=60.0, gt=0)  # no answer by then: 504
    max_header_bytes: int = Field(default=16_384, ge=1024)  # h11: bytes of an incomplete request head
    head_timeout_s: float = Field(default=10.0, gt=0)  # a request head (line and headers) must arrive within this
    # proxies whose X-Forwarded-Proto/For count (comma-separated IPs or networks; "*" any): behind a TLS
    # proxy the dashboard's cookies are then Secure
    trusted_proxies: str = "127.0.0.1"


class WorkerSettings(BaseSettings):
    """One worker process: its name and its HTTP endpoint (/metrics, /healthz, control)."""

    model_config = SettingsConfigDict(env_prefix="OMNIMETER_WORKER_", extra="ignore")

    id: str = Field(default_factory=socket.gethostname)  # names this worker's local table store
    web_port: int = Field(default=6066, ge=0, le=65535)  # 0: off
    host: str = "127.0.0.1"  # 0.0.0.0 in a container
    # The interpreter (streams/interpreter.py): allocations between young-generation collections (Python's
    # default 700) and how often the GIL changes hands (Python's default 5 ms)
    gc_young_threshold: int = Field(default=50_000, ge=700, le=10_000_000)
    gil_switch_interval_s: float = Field(default=0.02, ge=0.001, le=0.1)


COMPONENTS: dict[str, type[BaseSettings]] = {
    "kafka": KafkaSettings,
    "topics": Topics,
    "faust": FaustSettings,
    "clickhouse": ClickHouseSettings,
    "ingest": IngestSettings,
    "api": ApiSettings,
    "http": HttpSettings,
    "worker": WorkerSettings,
}


class Settings(BaseSettings):
    """Everything a worker, the CLI or a test needs to know: shared paths plus one object per component."""

    model_config = SettingsConfigDict(env_prefix="OMNIMETER_", extra="ignore")

    data_dir: Path = DEFAULT_DATA_DIR
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "omnimeter")
    # Fault injection for tests/faults (see omnimeter/faults.py); never set in production.
    faults: str = ""

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: Topics = Field(default_factory=Topics)
    faust: FaustSettings = Field(default_factory=FaustSettings)
    clickhouse: ClickHouseSettings = Field(default_factory=ClickHouseSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)

    @property
    def resolved_clickhouse_url(self) -> str:
        """The store's URL; a shared store's (omnimeter://) carries this host's store key as its password
        when the URL names none (`<data dir>/store_key`, written by `omnimeter store serve`)."""
        url = self.clickhouse.url
        if not url:
            return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"
        key_file = self.data_dir / "store_key"
        parts = urlsplit(url)
        if url.startswith("omnimeter://") and parts.password is None and key_file.exists():
            key = quote(key_file.read_text().strip(), safe="")
            return urlunsplit(parts._replace(netloc=f"omnimeter:{key}@{parts.hostname}:{parts.port}"))
        return url

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes` applied, named ``component__field`` (``ingest__flush_interval_s=0.2``) or
        as a top-level field; values are validated like the environment's."""
        top = {k: v for k, v in changes.items() if "__" not in k}
        for name in COMPONENTS:
            mine = {k.split("__", 1)[1]: v for k, v in changes.items() if k.startswith(f"{name}__")}
            if mine:
                current: BaseSettings = getattr(self, name)
                top[name] = type(current).model_validate({**current.model_dump(), **mine})
        unknown = [k for k in changes if "__" in k and k.split("__", 1)[0] not in COMPONENTS]
        if unknown:
            raise ConfigError(f"unknown settings component in {unknown}")
        return self.model_copy(update=top)

    def to_env(self) -> dict[str, str]:
        """The ``OMNIMETER_*`` variables that give a child process these exact settings (secrets included)."""
        env = {
            "OMNIMETER_DATA_DIR": str(self.data_dir.resolve()),
            "OMNIMETER_CACHE_DIR": str(self.cache_dir),
            "OMNIMETER_FAULTS": self.faults,
        }
        for name in COMPONENTS:
            component: BaseSettings = getattr(self, name)
            prefix = str(component.model_config.get("env_prefix", ""))
            for field, value in component:
                env[f"{prefix}{field}".upper()] = _env_value(value)
        env["OMNIMETER_CLICKHOUSE_URL"] = self.resolved_clickhouse_url
        return env

    def masked(self) -> dict[str, Any]:
        """Every setting, for printing: secrets as ``**********``, URLs without their password."""
        doc = self.model_dump(mode="json")
        doc["clickhouse"]["url"] = mask_url(self.resolved_clickhouse_url)
        return doc


def _env_value(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value)


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment plus explicit overrides, given as ``component__field`` (e.g.
    ``kafka__bootstrap``) or as a top-level field; every problem of every component is reported at once."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    problems: list[str] = []
    parts: dict[str, Any] = {}
    for name, cls in COMPONENTS.items():
        mine = {k.split("__", 1)[1]: v for k, v in clean.items() if k.startswith(f"{name}__")}
        try:
            parts[name] = cls(**mine)
        except ValidationError as e:
            problems += _lines(e, name)
            parts[name] = cls.model_construct()  # a placeholder, so the top level is checked too
    top = {k: v for k, v in clean.items() if "__" not in k}
    try:
        settings = Settings(**top, **parts)
    except ValidationError as e:
        problems += _lines(e, "")
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(problems))
    return settings


def _lines(e: ValidationError, component: str) -> list[str]:
    out = []
    for err in e.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in (component, *err["loc"]) if p != "")
        out.append(f"  - {where}: {err['msg']}")
    return out
