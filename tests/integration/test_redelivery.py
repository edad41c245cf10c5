"""Records delivered again (a seek back) are recognised by the ingest stage on the real engine (chdb)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from omnimeter.cli.traffic import Traffic, build_world, records
from omnimeter.sinks.base import DeadLetter
from omnimeter.sinks.clickhouse import connect
from omnimeter.streams.flush import Flush, FlushPolicy
from omnimeter.streams.ingest import IngestConfig, IngestStage
from omnimeter.streams.metrics import WorkerMetrics
from omnimeter.streams.records import ConsumedRecord

pytestmark = pytest.mark.integration


class RefusingDeadLetters:
    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        raise AssertionError(f"no record here is malformed, got {letters[:1]}")


def test_records_delivered_again_after_newer_ones_in_one_batch_are_not_counted_again(tmp_path: Path) -> None:
    """A seek back delivers offsets 0..29 again after 30..39 in the same batch. The batch's first record
    (30) is contiguous with what was flushed, so only the lowest offset shows the replay."""
    start = datetime.now(UTC) - timedelta(hours=1)
    recs = list(records(Traffic(build_world(3, 2), seed=3, start=start, step=timedelta(seconds=1)), 40))
    values = [r.value for r in recs]
    store = connect(f"chdb://{tmp_path / 'ch'}", "omnimeter_test")
    acked: list[int] = []

    def rec(offset: int) -> ConsumedRecord:
        async def ack() -> None:
            acked.append(offset)

        return ConsumedRecord("usage", 0, offset, values[offset], ack=ack, key=recs[offset].key)

    async def run() -> None:
        flush = Flush(store, RefusingDeadLetters(), FlushPolicy())
        stage = IngestStage(flush, IngestConfig(batch_max_events=10_000, flush_interval_s=60),
                            WorkerMetrics(CollectorRegistry()))  # fmt: skip
        for o in range(30):
            await stage.add(rec(o))
        first = await stage.flush()
        assert first.stored == 30
        for o in [*range(30, 40), *range(30)]:  # the newer ones, then the ones sought back to
            await stage.add(rec(o))
        second = await stage.flush()
        assert (second.stored, second.skipped_replayed, second.duplicates) == (10, 30, 0)

    try:
        asyncio.run(run())
        db = store.db
        assert store.query_rows(f"SELECT count(), uniqExact(kafka_offset) FROM {db}.raw_events") == [(40, 40)]
        assert store.query_rows(f"SELECT count() FROM {db}.duplicate_events") == [(0,)]
        assert sorted(acked) == sorted([*range(40), *range(30)])  # every delivery is acked once
    finally:
        store.close()
