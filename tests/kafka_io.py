"""Plain confluent-kafka produce and read helpers for integration tests."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, Producer, TopicPartition

from omnimeter.cli.simulate import Ledger
from omnimeter.cli.traffic import Record


def produce_plain(bootstrap: str, topic: str, records: Iterable[Record], ledger: Ledger, rate: float = 0.0) -> None:
    """Produce with a plain confluent-kafka producer, recording what was sent in `ledger`."""
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": "lz4", "linger.ms": 10})
    errors: list[object] = []
    started = time.monotonic()
    for i, rec in enumerate(records):
        producer.produce(
            topic, rec.value, rec.key, headers=rec.headers, on_delivery=lambda err, _msg: err and errors.append(err)
        )
        producer.poll(0)
        ledger.add(rec)
        if rate:
            ahead = (i + 1) / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    assert producer.flush(60) == 0
    assert not errors, errors


@dataclass(frozen=True)
class Letter:
    value: bytes
    headers: dict[str, bytes]


def read_all(bootstrap: str, topic: str, timeout_s: float = 30.0) -> list[Letter]:
    """Every record currently in `topic`, read from offset 0 to the end of each partition."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{time.monotonic_ns()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
        c.assign([TopicPartition(topic, p, 0) for p in parts])
        out: list[Letter] = []
        pos = {p: 0 for p in parts}
        deadline = time.monotonic() + timeout_s
        while any(pos[p] < ends[p] for p in parts) and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None or msg.error():
                continue
            pos[msg.partition()] = msg.offset() + 1
            out.append(Letter(msg.value(), dict(msg.headers() or [])))
        return out
    finally:
        c.close()
