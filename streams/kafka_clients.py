"""One mapping from `KafkaSettings` to every Kafka client's configuration: SASL and TLS reach the Faust app
(aiokafka), and every confluent-kafka producer, consumer and admin client, from the same settings.

Functions that talk to Kafka take `Kafka`: the settings, or a bare ``host:port`` for a plaintext broker
(the local broker of `omnimeter kafka up` and the tests).
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from omnimeter.settings import KafkaSettings

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

Kafka = str | KafkaSettings


def bootstrap_of(kafka: Kafka) -> str:
    return kafka if isinstance(kafka, str) else kafka.bootstrap


def confluent_config(kafka: Kafka, **extra: Any) -> dict[str, Any]:
    """librdkafka properties (confluent-kafka Producer, Consumer, AdminClient), plus `extra`."""
    if isinstance(kafka, str):
        return {"bootstrap.servers": kafka, **extra}
    conf: dict[str, Any] = {"bootstrap.servers": kafka.bootstrap, "security.protocol": kafka.security_protocol}
    if kafka.uses_sasl:
        conf["sasl.mechanism"] = kafka.sasl_mechanism
        conf["sasl.username"] = kafka.sasl_username
        conf["sasl.password"] = kafka.sasl_password.get_secret_value()
    if kafka.uses_tls:
        if kafka.ssl_cafile:
            conf["ssl.ca.location"] = kafka.ssl_cafile
        if kafka.ssl_certfile:
            conf["ssl.certificate.location"] = kafka.ssl_certfile
            conf["ssl.key.location"] = kafka.ssl_keyfile
        if kafka.ssl_key_password.get_secret_value():
            conf["ssl.key.password"] = kafka.ssl_key_password.get_secret_value()
        conf["ssl.endpoint.identification.algorithm"] = "https" if kafka.ssl_check_hostname else "none"
    conf.update(extra)
    return conf


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context of the aiokafka clients (None without TLS)."""
    if not kafka.uses_tls:
        return None
    ctx = ssl.create_default_context(cafile=kafka.ssl_cafile or None)
    if kafka.ssl_certfile:
        ctx.load_cert_chain(kafka.ssl_certfile, kafka.ssl_keyfile, kafka.ssl_key_password.get_secret_value() or None)
    ctx.check_hostname = kafka.ssl_check_hostname
    return ctx


def faust_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """`broker_credentials` of the Faust app (its aiokafka consumer, producer and admin client)."""
    from faust.auth import SASLCredentials, SSLCredentials  # Faust is heavy to import; the CLI needs none of it

    ctx = ssl_context(kafka)
    if kafka.uses_sasl:
        return SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value(),
            mechanism=kafka.sasl_mechanism,
            ssl_context=ctx,
        )
    if ctx is not None:
        return SSLCredentials(ctx)
    return None
