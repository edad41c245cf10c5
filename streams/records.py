"""What the ingest stage receives from Kafka, independent of the consumer library."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from omnimeter.schemas.parse import Outcome
from omnimeter.sinks.base import Headers

Partition = tuple[str, int]  # (topic, partition)


@dataclass(slots=True)
class ConsumedRecord:
    """One Kafka record. `ack` tells the consumer the record's outcome is stored (its offset may be
    committed); it is called exactly once, after the flush that stored it."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    headers: Headers = ()
    ack: Callable[[], Awaitable[object]] | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    key: bytes | None = None  # the record key: the tenant id its events must carry (DESIGN.md section 2)

    @property
    def tp(self) -> Partition:
        return (self.topic, self.partition)
