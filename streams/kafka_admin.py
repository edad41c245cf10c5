"""Kafka administration with confluent-kafka: idempotent topic creation and consumer-group lag."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from omnimeter.errors import OmnimeterError
from omnimeter.settings import Topics
from omnimeter.streams.kafka_clients import Kafka, confluent_config


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


def topic_specs(topics: Topics) -> list[TopicSpec]:
    return [
        TopicSpec(topics.usage, topics.usage_partitions, {"retention.ms": str(14 * 86_400_000)}),
        TopicSpec(topics.dlq, topics.dlq_partitions, {"retention.ms": str(30 * 86_400_000)}),
        TopicSpec(topics.reference, 1, {"cleanup.policy": "compact"}),
        TopicSpec(topics.alerts, topics.alerts_partitions, {"cleanup.policy": "compact"}),
    ]


def ensure_topics(kafka: Kafka, specs: list[TopicSpec], timeout_s: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet. Returns the names created; existing ones are left alone."""
    admin = AdminClient(confluent_config(kafka))
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    new = [NewTopic(s.name, s.partitions, 1, config=s.config) for s in specs if s.name not in existing]
    if not new:
        return []
    created = []
    for name, fut in admin.create_topics(new, operation_timeout=timeout_s).items():
        try:
            fut.result()
            created.append(name)
        except KafkaException as e:
            if e.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise OmnimeterError(f"cannot create topic {name}: {e}") from e
    return created


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int  # -1 when the group has committed nothing
    end: int

    @property
    def lag(self) -> int:
        return self.end - max(self.committed, 0)


def group_lag(kafka: Kafka, group: str, topic: str, timeout_s: float = 10.0) -> list[PartitionLag]:
    """Committed offset vs log end offset of every partition of `topic` for consumer group `group`."""
    consumer = Consumer(confluent_config(kafka, **{"group.id": group, "enable.auto.commit": False}))
    try:
        md = consumer.list_topics(topic, timeout=timeout_s)
        parts = sorted(md.topics[topic].partitions) if topic in md.topics else []
        tps = [TopicPartition(topic, p) for p in parts]
        committed = consumer.committed(tps, timeout=timeout_s) if tps else []
        out = []
        for tp in committed:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=timeout_s)
            out.append(PartitionLag(topic, tp.partition, tp.offset if tp.offset >= 0 else -1, high))
        return out
    finally:
        consumer.close()
