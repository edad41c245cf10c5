"""Reference data (directory, price books) on the compacted reference topic.

`omnimeter directory apply` / `prices apply` validate a YAML file and publish its text under the key
``directory`` or ``prices``; every worker reads the topic from the start at boot and follows it, so all
workers rate with the same versions. A value that does not validate (published by something that skipped
the CLI's checks) is refused: the worker keeps the last good version and counts the refusal. Whatever a
value holds (a YAML bomb, a parser crash), applying it never raises: every exception is a refusal with a
reason from `REFUSAL_REASONS` and one log line, and later valid versions still apply, at boot as later.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from omnimeter.pricing.books import PriceBooks, parse_price_books
from omnimeter.schemas.directory import Directory, parse_directory
from omnimeter.schemas.problems import ReferenceDataError
from omnimeter.streams.kafka_clients import Kafka, confluent_config

log = logging.getLogger(__name__)

KINDS: dict[str, Callable[[str, str], object]] = {"directory": parse_directory, "prices": parse_price_books}
# Reasons of a refused version (a metric label: a closed set). ReferenceDataError carries the first four.
REFUSAL_REASONS = ("invalid", "too_large", "too_deep", "alias", "not_utf8", "error")


def version_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse(kind: str, text: str, source: str) -> object:
    return KINDS[kind](text, source)


def publish(kafka: Kafka, topic: str, kind: str, text: str, source: str) -> str:
    """Validate and publish; returns the version. Raises ReferenceDataError listing every problem."""
    parse(kind, text, source)
    version = version_of(text)
    p = Producer(
        confluent_config(
            kafka,
            **{
                "enable.idempotence": True,
                "log_level": 3,
                "compression.type": "zstd",
                "message.max.bytes": 16 * 1024 * 1024,
            },
        )
    )
    errors: list[object] = []
    p.produce(
        topic,
        text.encode(),
        kind.encode(),
        headers=[("omnimeter.version", version.encode()), ("omnimeter.source", source.encode())],
        on_delivery=lambda err, _m: err and errors.append(err),
    )
    if p.flush(30) or errors:
        raise RuntimeError(f"publishing {kind} failed: {errors}")
    return version


@dataclass(frozen=True, slots=True)
class Applied:
    kind: str
    version: str
    text: str
    value: object
    applied_at: datetime


class ReferenceData:
    """The latest good directory and price books. `start()` reads the topic to its end, then a thread
    follows it. Readers get consistent snapshots through `directory` and `books`."""

    def __init__(
        self,
        kafka: Kafka,
        topic: str,
        on_applied: Callable[[Applied], None] | None = None,
        on_refused: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.kafka, self.topic = kafka, topic
        self.on_applied, self.on_refused = on_applied, on_refused
        self._current: dict[str, Applied] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Consumer | None = None

    @property
    def directory(self) -> Directory | None:
        a = self._current.get("directory")
        return a.value if a else None  # type: ignore[return-value]

    @property
    def books(self) -> PriceBooks | None:
        a = self._current.get("prices")
        return a.value if a else None  # type: ignore[return-value]

    def applied(self, kind: str) -> Applied | None:
        return self._current.get(kind)

    def version(self, kind: str) -> str:
        a = self._current.get(kind)
        return a.version if a else ""

    def start(self, timeout_s: float = 30.0) -> None:
        c = Consumer(
            confluent_config(
                self.kafka,
                **{
                    "group.id": f"omnimeter-reference-{time.time_ns()}",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                },
            )
        )
        md = c.list_topics(self.topic, timeout=timeout_s)
        parts = sorted(md.topics[self.topic].partitions) if self.topic in md.topics else []
        ends = {p: c.get_watermark_offsets(TopicPartition(self.topic, p), timeout=timeout_s)[1] for p in parts}
        c.assign([TopicPartition(self.topic, p, 0) for p in parts])
        self._consumer = c
        pos = dict.fromkeys(parts, 0)
        deadline = time.monotonic() + timeout_s
        while any(pos[p] < ends[p] for p in parts) and time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is not None and not msg.error():
                pos[msg.partition()] = msg.offset() + 1
                self._take(msg.key(), msg.value())
        self._thread = threading.Thread(target=self._follow, name="reference-data", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _follow(self) -> None:
        assert self._consumer is not None
        try:
            while not self._stop.is_set():
                try:
                    msg = self._consumer.poll(0.5)
                    if msg is None:
                        continue
                    if msg.error():
                        if msg.error().code() != KafkaError._PARTITION_EOF:
                            log.warning("reference topic: %s", msg.error())
                        continue
                    self._take(msg.key(), msg.value())
                except Exception:  # the thread must outlive any record: later versions still apply
                    log.exception("reading the reference topic failed; going on")
                    time.sleep(1.0)
        finally:
            self._consumer.close()

    def restore(self, kind: str, text: str, origin: str) -> bool:
        """Apply `text` (the last version this deployment applied, from ClickHouse's reference_versions)
        when the topic gave no good version of `kind`: compaction keeps only the newest record per key, so a
        refused newest record would otherwise leave a restarted worker without reference data. Validated
        like any version; returns whether it applied."""
        if self.applied(kind) is not None:
            return False
        log.warning("no good %s version on %s: restoring the last applied one from %s", kind, self.topic, origin)
        self._take(kind.encode(), text.encode())
        return self.applied(kind) is not None

    def _take(self, key: bytes | None, value: bytes | None) -> None:
        kind = (key or b"").decode(errors="replace")
        if kind not in KINDS or value is None:
            return
        version = hashlib.sha256(value).hexdigest()[:16]
        if self.version(kind) == version:
            return
        try:
            text = value.decode("utf-8")
            parsed = parse(kind, text, f"{self.topic}/{kind}@{version}")
        except UnicodeDecodeError as e:
            self._refuse(kind, version, "not_utf8", f"not UTF-8 at byte {e.start}")
            return
        except ReferenceDataError as e:
            self._refuse(kind, version, e.reason if e.reason in REFUSAL_REASONS else "invalid", str(e))
            return
        except Exception as e:  # a crash of the parser on hostile input: refused, never fatal
            self._refuse(kind, version, "error", f"{type(e).__name__}: {e}")
            return
        applied = Applied(kind, version, text, parsed, datetime.now(UTC))
        self._current = {**self._current, kind: applied}
        log.info("applied %s version %s", kind, version)
        if self.on_applied:
            try:
                self.on_applied(applied)
            except Exception:
                log.exception("after applying %s version %s", kind, version)

    def _refuse(self, kind: str, version: str, reason: str, message: str) -> None:
        first = " ".join(message.split())[:500]  # one line, bounded
        log.error("refused %s version %s (%s), keeping %s: %s", kind, version, reason,
                  self.version(kind) or "none", first)  # fmt: skip
        if self.on_refused:
            try:
                self.on_refused(kind, reason, first)
            except Exception:
                log.exception("counting a refused %s version", kind)
