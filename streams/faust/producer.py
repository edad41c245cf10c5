"""The Faust app's producer behind two ports of sinks/base.py: the dead-letter publisher (flush step 4)
and the state barrier (step 6: the window table's changelog writes are stored by the broker)."""

from __future__ import annotations

from collections.abc import Sequence

import faust

from omnimeter.sinks.base import DeadLetter
from omnimeter.streams.deadletter import fit


class FaustDeadLetters:
    """Publishes dead letters with the app's producer and waits for every broker ack. A letter too large
    for one producer request is truncated (streams/deadletter.py `fit`)."""

    def __init__(self, app: faust.App, topic: str, max_request_bytes: int = 1_000_000) -> None:
        self.app = app
        self.topic = topic
        self.max_request_bytes = max_request_bytes

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        producer = self.app.producer
        futures = []
        for letter in letters:
            dl = fit(letter, self.max_request_bytes)
            futures.append(await producer.send(self.topic, dl.key, dl.value, None, None, list(dl.headers)))
        for fut in futures:
            await fut


class ProducerBarrier:
    """Flushes the app's producer: every changelog write made so far is acknowledged by the broker."""

    def __init__(self, app: faust.App) -> None:
        self.app = app

    async def durable(self) -> None:
        await self.app.producer.flush()
