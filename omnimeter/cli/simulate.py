"""`omnimeter simulate`: produce generated traffic to the usage topic at a given rate, with progress."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import Producer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from omnimeter.cli.traffic import Record
from omnimeter.streams.kafka_clients import Kafka, confluent_config


@dataclass
class Ledger:
    """What was produced, and so what the pipeline must make of it."""

    records: int = 0
    valid: set[tuple[str, str, str]] = field(default_factory=set)
    duplicate_sends: int = 0
    malformed: Counter[str] = field(default_factory=Counter)

    def add(self, rec: Record) -> None:
        self.records += 1
        for key in rec.valid_ids + rec.duplicate_ids:
            if key in self.valid:
                self.duplicate_sends += 1
            else:
                self.valid.add(key)
        self.malformed.update(rec.malformed)


def produce(
    records: Iterable[Record],
    kafka: Kafka,
    topic: str,
    *,
    rate: float = 0.0,
    total: int | None = None,
    show_progress: bool = True,
    ledger: Ledger | None = None,
) -> Ledger:
    """Send every record (key = tenant id) and wait for the broker's acks. `rate` limits records/s
    (0: as fast as possible). Raises RuntimeError if any record was not delivered."""
    ledger = ledger or Ledger()
    failures: list[str] = []

    def on_delivery(err: object, msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    producer = Producer(
        confluent_config(
            kafka,
            **{
                "compression.type": "zstd",
                "linger.ms": 20,
                "enable.idempotence": True,
                "log_level": 3,
                "queue.buffering.max.messages": 200_000,
            },
        )
    )
    started = time.monotonic()
    with Progress(
        TextColumn("producing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeRemainingColumn(),
        disable=not show_progress,
    ) as progress:
        task = progress.add_task("produce", total=total)
        for i, rec in enumerate(records):
            while True:
                try:
                    producer.produce(topic, rec.value, rec.key, headers=rec.headers, on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.05)
            producer.poll(0)
            ledger.add(rec)
            progress.advance(task)
            if rate > 0:
                ahead = (i + 1) / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        remaining = producer.flush(60)
    if remaining or failures:
        raise RuntimeError(f"{remaining} records undelivered, {len(failures)} failed: {failures[:3]}")
    return ledger
