"""Consumer lag per partition, the way Kafka lag exporters report it: log end offset minus the group's
committed offset, polled from the broker every few seconds on a thread of its own."""

from __future__ import annotations

import logging
import threading

from confluent_kafka import Consumer, KafkaException, TopicPartition

from omnimeter.streams.kafka_clients import Kafka, confluent_config
from omnimeter.streams.metrics import WorkerMetrics

log = logging.getLogger(__name__)


class LagPoller:
    def __init__(self, kafka: Kafka, group: str, topic: str, metrics: WorkerMetrics, every_s: float = 2.0) -> None:
        self.kafka, self.group, self.topic = kafka, group, topic
        self.metrics = metrics
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-poller", daemon=True)

    def start(self) -> LagPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        c = Consumer(
            confluent_config(self.kafka, **{"group.id": self.group, "enable.auto.commit": False, "log_level": 3})
        )
        try:
            while not self._stop.wait(self.every_s):
                try:
                    self.poll_once(c)
                except KafkaException as e:
                    log.debug("lag poll failed: %s", e)
        finally:
            c.close()

    def poll_once(self, c: Consumer) -> None:
        md = c.list_topics(self.topic, timeout=5)
        parts = sorted(md.topics[self.topic].partitions) if self.topic in md.topics else []
        committed = c.committed([TopicPartition(self.topic, p) for p in parts], timeout=5)
        for tp in committed:
            low, high = c.get_watermark_offsets(TopicPartition(self.topic, tp.partition), timeout=5)
            done = tp.offset if tp.offset >= 0 else low
            self.metrics.lag.labels(self.topic, str(tp.partition)).set(max(high - done, 0))
