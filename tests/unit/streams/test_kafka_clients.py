"""SASL and TLS settings reach every Kafka client from one mapping (streams/kafka_clients.py)."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest
from faust.auth import SASLCredentials, SSLCredentials
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from omnimeter.errors import ConfigError
from omnimeter.settings import KafkaSettings, load_settings
from omnimeter.streams.kafka_clients import confluent_config, faust_credentials


def test_plaintext_by_default_and_bare_bootstrap() -> None:
    assert confluent_config("h:1", **{"group.id": "g"}) == {"bootstrap.servers": "h:1", "group.id": "g"}
    k = KafkaSettings()
    assert confluent_config(k) == {"bootstrap.servers": "127.0.0.1:9092", "security.protocol": "PLAINTEXT"}
    assert faust_credentials(k) is None


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_plaintext_reaches_confluent_and_aiokafka(mechanism: str) -> None:
    k = KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism, sasl_username="meter",
                      sasl_password="s3cret")  # fmt: skip
    conf = confluent_config(k, **{"linger.ms": 5})
    assert conf == {"bootstrap.servers": "127.0.0.1:9092", "security.protocol": "SASL_PLAINTEXT",
                    "sasl.mechanism": mechanism, "sasl.username": "meter", "sasl.password": "s3cret",
                    "linger.ms": 5}  # fmt: skip
    creds = faust_credentials(k)
    assert isinstance(creds, SASLCredentials)
    auth = credentials_to_aiokafka_auth(creds)  # what Faust hands its aiokafka consumer and producer
    assert auth["security_protocol"] == "SASL_PLAINTEXT" and auth["sasl_mechanism"] == mechanism
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("meter", "s3cret")
    assert "s3cret" not in repr(k) and "s3cret" not in str(load_settings(kafka__sasl_password="s3cret",
        kafka__sasl_username="u", kafka__security_protocol="SASL_PLAINTEXT").masked())  # fmt: skip


def test_sasl_ssl_and_ssl_with_a_ca_file(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(Path(certifi.where()).read_bytes())  # a real CA bundle: only parsed, no connection is made
    k = KafkaSettings(security_protocol="SASL_SSL", sasl_username="u", sasl_password="p", ssl_cafile=str(ca),
                      ssl_check_hostname=False)  # fmt: skip
    conf = confluent_config(k)
    assert conf["ssl.ca.location"] == str(ca) and conf["ssl.endpoint.identification.algorithm"] == "none"
    auth = credentials_to_aiokafka_auth(faust_credentials(k))
    assert auth["security_protocol"] == "SASL_SSL" and isinstance(auth["ssl_context"], ssl.SSLContext)
    assert auth["ssl_context"].check_hostname is False
    tls = KafkaSettings(security_protocol="SSL", ssl_cafile=str(ca))
    assert confluent_config(tls)["security.protocol"] == "SSL" and "sasl.username" not in confluent_config(tls)
    creds = faust_credentials(tls)
    assert isinstance(creds, SSLCredentials)
    assert credentials_to_aiokafka_auth(creds)["security_protocol"] == "SSL"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"security_protocol": "SASL_SSL"}, "needs sasl_username and sasl_password"),
        ({"security_protocol": "SSL", "ssl_cafile": "/nonexistent/ca.pem"}, "not a readable file"),
        ({"ssl_cafile": "/etc/hostname"}, "does not use TLS"),
        ({"sasl_mechanism": "GSSAPI"}, "sasl_mechanism"),
    ],
)
def test_incomplete_security_settings_are_config_errors(changes: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_settings(**{f"kafka__{k}": v for k, v in changes.items()})


def test_settings_reach_a_child_process_environment() -> None:
    s = load_settings(kafka__security_protocol="SASL_PLAINTEXT", kafka__sasl_username="u", kafka__sasl_password="p")
    env = s.to_env()
    assert env["OMNIMETER_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert env["OMNIMETER_KAFKA_SASL_PASSWORD"] == "p"
    assert KafkaSettings(**{k.removeprefix("OMNIMETER_KAFKA_").lower(): v for k, v in env.items()
                            if k.startswith("OMNIMETER_KAFKA_")}) == s.kafka  # fmt: skip
