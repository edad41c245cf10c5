"""Alerts as events (issue 19): the worker publishes each crossed threshold once on the alerts topic.

After the rollups include a flush's lines, the tenants of those lines are due; every `alert_interval_s`
the due tenants are measured (reports/alerts.py, injected as `Measure`: the read side's numbers) and each
alert whose id is not on the topic yet is published (CloudEvent JSON, key = alert id, idempotent
producer, every ack awaited) and then stored in the `alerts` table for the dashboard.

Once per threshold and period, across crashes and rebalances: the ids already published are read from the
compacted topic, from its start when the worker starts and again after each rebalance (another worker may
have published meanwhile), and the first round after either also measures every tenant with thresholds
(a sweep): an alert a killed worker had not published yet is published by the next, one its insert into
the table missed is stored from the topic. Two workers measuring the same tenant in the same instant (only
at a rebalance) could both publish: consumers dedupe on the CloudEvent id, which is the same.

Nothing here stops metering: a failed round is logged and counted, and its tenants are due again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from omnimeter.schemas.alerts import Alert, NotAnAlert, parse_alert
from omnimeter.sinks.base import Store
from omnimeter.sinks.tables import ALERTS
from omnimeter.streams.kafka_clients import Kafka, confluent_config
from omnimeter.streams.timing import StageTimes

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Measured:
    alerts: list[Alert]
    failed: list[str]  # tenants to measure again


class Measure(Protocol):
    def sweep_tenants(self) -> list[str]: ...

    def evaluate(self, tenant_ids: Iterable[str], now: datetime) -> Measured: ...


class AlertMetrics(Protocol):
    def alert_published(self, kind: str) -> None: ...

    def alert_round_failed(self) -> None: ...


class AlertLog:
    """The alerts already on the topic, read to its end: from the start the first time and after
    `forget()`, then from where the last read ended."""

    def __init__(self, kafka: Kafka, topic: str) -> None:
        self.kafka, self.topic = kafka, topic
        self.ids: set[str] = set()
        self.refused = 0  # records that are not alerts of ours (logged)
        self._consumer: Consumer | None = None
        self._next: dict[int, int] = {}

    def forget(self) -> None:
        self._next = {}
        self.ids = set()

    def catch_up(self, timeout_s: float = 30.0) -> list[Alert]:
        """Reads to the current end; returns the alerts read. Raises when the broker does not answer."""
        c = self._consumer
        if c is None:
            c = self._consumer = Consumer(
                confluent_config(
                    self.kafka,
                    **{
                        "group.id": f"omnimeter-alerts-{time.time_ns()}",
                        "enable.auto.commit": False,
                        "enable.partition.eof": False,
                        "log_level": 3,
                    },
                )
            )
        md = c.list_topics(self.topic, timeout=timeout_s)
        topic = md.topics.get(self.topic)
        if topic is None or topic.error is not None:
            what = topic.error if topic else "missing (create it: omnimeter kafka topics)"
            raise RuntimeError(f"alerts topic {self.topic}: {what}")
        ends = {p: c.get_watermark_offsets(TopicPartition(self.topic, p), timeout=timeout_s) for p in topic.partitions}
        start = {p: max(self._next.get(p, lo), lo) for p, (lo, _hi) in ends.items()}
        todo = {p for p, (_lo, hi) in ends.items() if start[p] < hi}
        read: list[Alert] = []
        if todo:
            c.assign([TopicPartition(self.topic, p, start[p]) for p in sorted(todo)])
            deadline = time.monotonic() + timeout_s
            while todo:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"alerts topic {self.topic}: not read to its end in {timeout_s:g} s")
                msg = c.poll(0.2)
                if msg is None:
                    continue
                if msg.error():
                    if msg.error().code() != KafkaError._PARTITION_EOF:
                        raise RuntimeError(f"alerts topic {self.topic}: {msg.error()}")
                    continue
                p, off = msg.partition(), msg.offset()
                start[p] = off + 1
                if start[p] >= ends[p][1]:
                    todo.discard(p)
                try:  # a tombstone, a key without a value or bytes not ours: logged, never fatal to the round
                    alert = parse_alert(msg.value(), msg.key())
                except NotAnAlert as e:
                    self.refused += 1
                    log.warning("alerts topic %s/%d@%d: not an alert (%s); ignored", self.topic, p, off, e)
                    continue
                self.ids.add(alert.id)
                read.append(alert)
            c.unassign()
        self._next = {p: start[p] for p in ends}
        return read

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


class AlertPublisher:
    """Publishes alerts not on the topic yet, waits for every ack, then stores them."""

    def __init__(self, kafka: Kafka, topic: str, store: Store, log_: AlertLog, metrics: AlertMetrics | None) -> None:
        self.topic, self.store, self.log, self.metrics = topic, store, log_, metrics
        self._producer = Producer(
            confluent_config(kafka, **{"enable.idempotence": True, "log_level": 3, "linger.ms": 5})
        )

    def publish(self, alerts: Sequence[Alert], timeout_s: float = 30.0) -> list[Alert]:
        """Returns the alerts published now (those already on the topic are left out)."""
        new: dict[str, Alert] = {}
        for a in alerts:
            if a.id not in self.log.ids:
                new.setdefault(a.id, a)
        if not new:
            return []
        errors: list[str] = []
        for a in new.values():
            self._producer.produce(
                self.topic, a.cloudevent(), a.id.encode(),
                headers=[("ce_type", a.kind.type.encode()), ("ce_id", a.id.encode())],
                on_delivery=lambda err, _m: err and errors.append(str(err)),
            )  # fmt: skip
        left = self._producer.flush(timeout_s)
        if left or errors:
            raise RuntimeError(f"publishing {len(new)} alerts: {left} not acknowledged, errors {errors[:3]}")
        self.log.ids.update(new)
        published = list(new.values())
        self.store_rows(published)
        for a in published:
            log.warning("alert %s %s: %s", a.kind.type, a.tenant_id, a.message)
            if self.metrics is not None:
                self.metrics.alert_published(a.kind.value)
        return published

    def store_rows(self, alerts: Sequence[Alert]) -> None:
        """The table's rows of `alerts` (inserting one twice is harmless: one row per id is read)."""
        if not alerts:
            return
        version = datetime.now(UTC)
        token = hashlib.sha256(",".join(sorted(a.id for a in alerts)).encode()).hexdigest()[:32]
        self.store.insert([ALERTS.block([a.row(version) for a in alerts], f"alerts:{token}")])

    def missing_rows(self, alerts: Sequence[Alert]) -> list[Alert]:
        if not alerts:
            return []
        ids = [a.id for a in alerts]
        stored = {r[0] for r in self.store.query_rows(
            f"SELECT DISTINCT alert_id FROM {self.store.db}.alerts WHERE alert_id IN %(ids)s", {"ids": ids}
        )}  # fmt: skip
        return [a for a in alerts if a.id not in stored]


class AlertStage:
    """The worker's alert round. `due(tenants)` after the rollups include their lines; `partitions_changed`
    (the rebalance hook) asks for a sweep; `run` loops until `should_stop()`."""

    def __init__(
        self, measure: Measure, publisher: AlertPublisher, interval_s: float, metrics: AlertMetrics | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), times: StageTimes | None = None,
    ) -> None:  # fmt: skip
        self.measure, self.publisher, self.interval_s = measure, publisher, interval_s
        self.times = times  # the worker's stage times: `make bench` shows the round's share per event
        self.metrics, self.clock = metrics, clock
        self._due: set[str] = set()
        self._sweep = True  # at start: what a killed worker measured but had not published
        self._lock = threading.Lock()
        self.rounds = 0

    def due(self, tenants: Collection[str]) -> None:
        if tenants:
            with self._lock:
                self._due.update(tenants)

    def partitions_changed(self) -> None:
        self._sweep = True  # no I/O here: the next round reads the topic again and sweeps

    def round(self) -> list[Alert]:
        """One round (blocking: run in a thread). Returns the alerts published."""
        with self._lock:
            tenants, self._due = self._due, set()
            sweep, self._sweep = self._sweep, False
        try:
            if sweep:
                self.publisher.log.forget()
                on_topic = self.publisher.log.catch_up()
                self.publisher.store_rows(self.publisher.missing_rows(on_topic))
                tenants |= set(self.measure.sweep_tenants())
            elif tenants:
                self.publisher.log.catch_up()
            if not tenants:
                return []
            measured = self.measure.evaluate(tenants, self.clock())
            published = self.publisher.publish(measured.alerts)
        except Exception:
            with self._lock:
                self._due |= tenants
                self._sweep = self._sweep or sweep
            if self.metrics is not None:
                self.metrics.alert_round_failed()
            raise
        self.rounds += 1
        if measured.failed:
            self.due(measured.failed)
            if self.metrics is not None:
                self.metrics.alert_round_failed()
        return published

    async def run(self, should_stop: Callable[[], bool]) -> None:
        while not should_stop():
            await asyncio.sleep(self.interval_s)
            try:
                await asyncio.to_thread(self.times.timed("alerts", self.round) if self.times else self.round)
            except Exception as e:
                log.warning("alert round failed (%s); its tenants are measured again next round", e)

    def close(self) -> None:
        self.publisher.log.close()
