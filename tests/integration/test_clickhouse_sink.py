"""The ClickHouse store on the real engine (chdb): migrations, idempotent retried inserts, look-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from omnimeter.sinks.base import TableRows
from omnimeter.sinks.clickhouse import ClickHouseStore, connect
from omnimeter.sinks.exceptions import SinkError, SinkPermanent
from omnimeter.sinks.migrate import apply_migrations, load_migrations
from omnimeter.sinks.tables import RAW_EVENTS, WRITTEN

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = connect(f"chdb://{tmp_path / 'ch'}", "omnimeter_test")
    yield s
    s.close()


def raw(tenant: str, eid: str, partition: int, offset: int, ingested: datetime = NOW) -> tuple[Any, ...]:
    return (
        tenant,
        "sms-gateway",
        eid,
        "message.sent",
        NOW,
        "1.0",
        "application/json",
        "sms",
        "{}",
        "{}",
        "usage",
        partition,
        offset,
        0,
        ingested,
    )


def test_migrations_apply_once(store: ClickHouseStore) -> None:
    assert apply_migrations(store.client, store.db) == []  # connect() already applied them
    versions = store.query_rows(f"SELECT version FROM {store.db}.schema_migrations ORDER BY version")
    assert [v for (v,) in versions] == [m.version for m in load_migrations()]
    tables = {t for (t,) in store.query_rows(f"SELECT name FROM system.tables WHERE database = '{store.db}'")}
    assert {"raw_events", "rejected_events", "duplicate_events", "schema_migrations"} <= tables


class FlakyClient:
    """The real client, but the first `fail` inserts raise after they went through (a lost response)."""

    def __init__(self, client: Any, fail: int) -> None:
        self._client, self.fail, self.calls = client, fail, 0

    def insert(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        result = self._client.insert(*args, **kwargs)
        if self.calls <= self.fail:
            raise ConnectionError("connection reset after the server stored the block")
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_retried_insert_with_token_stores_once(store: ClickHouseStore) -> None:
    flaky = FlakyClient(store.client, fail=2)
    retrying = ClickHouseStore(flaky, store.db)  # type: ignore[arg-type]
    rows = [raw("t1", f"e{i}", 0, i) for i in range(100)]
    sleeps: list[float] = []
    retrying.write([RAW_EVENTS.block(rows, "raw:tok-1")], sleep=sleeps.append)
    assert flaky.calls == 3 and sleeps == [0.1, 0.2]
    assert store.query_rows(f"SELECT count() FROM {store.db}.raw_events") == [(100,)]
    # the same block again (a replay of the same flush) is dropped by its token
    store.write([RAW_EVENTS.block(rows, "raw:tok-1")])
    assert store.query_rows(f"SELECT count() FROM {store.db}.raw_events") == [(100,)]


def test_insert_gives_up_with_sink_error_when_bounded(store: ClickHouseStore) -> None:
    flaky = FlakyClient(store.client, fail=10**6)
    bounded = ClickHouseStore(flaky, store.db)  # type: ignore[arg-type]
    with pytest.raises(SinkError, match="insert into raw_events failed"):
        bounded.write(
            [RAW_EVENTS.block([raw("t1", "x", 0, 0)], "raw:tok-2")],
            retry_for_s=1.0,
            sleep=lambda _s: None,
        )


def test_lookups_for_replay_and_dedupe(store: ClickHouseStore) -> None:
    old = NOW - timedelta(days=40)
    store.write(
        [
            TableRows(
                "raw_events",
                RAW_EVENTS.columns,
                [raw("t1", "a", 1, 10), raw("t1", "b", 1, 11), raw("t2", "c", 2, 5, ingested=old)],
                "x",
            )
        ]
    )
    assert store.recorded_positions("usage", 1, 11) == {(11, 0)}
    assert store.recorded_positions("usage", 2, 0) == {(5, 0)}
    keys = [("t1", "sms-gateway", "a"), ("t1", "sms-gateway", "zzz"), ("t2", "sms-gateway", "c")]
    assert store.stored_keys(keys, since=NOW - timedelta(days=35)) == {("t1", "sms-gateway", "a")}
    assert store.stored_keys(keys, since=NOW - timedelta(days=45)) == {keys[0], keys[2]}
    many = [("t1", "sms-gateway", f"id-{i:06d}-{'x' * 40}") for i in range(25_000)] + [keys[0]]
    assert store.stored_keys(many, since=NOW - timedelta(days=35)) == {keys[0]}


def test_column_tuples_match_the_migrated_tables(store: ClickHouseStore) -> None:
    """sinks/tables.py against the engine: every column written exists, and every column without a
    default is written."""
    for table in WRITTEN:
        rows = store.query_rows(
            "SELECT name, default_kind FROM system.columns WHERE database = %(d)s AND table = %(t)s",
            {"d": store.db, "t": table.name},
        )
        assert rows, table.name
        existing = {name for name, _ in rows}
        required = {name for name, kind in rows if not kind}
        assert set(table.columns) <= existing, (table.name, set(table.columns) - existing)
        assert required <= set(table.columns), (table.name, required - set(table.columns))


def test_dedupe_look_up_binds_awkward_ids(store: ClickHouseStore) -> None:
    """The arrays escaped by sinks/queries.py reach the engine as the exact strings."""
    ids = ["it's", "back\\slash", "tab\there", "new\nline", "`tick`", "{brace}", "%(x)s"]
    store.write([RAW_EVENTS.block([raw("t1", i, 0, n) for n, i in enumerate(ids)], "w")])
    keys = [("t1", "sms-gateway", i) for i in ids]
    assert store.stored_keys(keys, since=NOW - timedelta(days=1)) == set(keys)


def test_a_block_of_150_months_stores_as_one_part_per_partition_and_a_retried_part_is_deduplicated(
    store: ClickHouseStore,
) -> None:
    rows = []
    for m in range(150):
        r = list(raw("t1", f"e{m}", 0, m))
        r[RAW_EVENTS.index("event_time")] = datetime(2010 + m // 12, 1 + m % 12, 15, tzinfo=UTC)
        rows.append(tuple(r))
    block = RAW_EVENTS.block(rows, "raw:months")
    with pytest.raises(SinkError, match="Too many partitions"):
        store.insert([block])  # what one insert of them all gets
    parts = RAW_EVENTS.parts(block)
    assert len(parts) == 150
    store.insert(parts)
    store.insert(parts[:10])  # a retry of parts already stored
    assert store.query_rows(f"SELECT count() FROM {store.db}.raw_events")[0][0] == 150
    for table in (t for t in WRITTEN if t.month_of):
        (key,) = store.query_rows(
            "SELECT partition_key FROM system.tables WHERE database = %(d)s AND name = %(t)s",
            {"d": store.db, "t": table.name},
        )[0]
        assert key == table.partition_key, table.name
    types = store.column_types(RAW_EVENTS.name)
    assert types["event_time"] == "DateTime64(3, 'UTC')" and types["kafka_partition"] == "UInt32"


def test_window_decisions_read_back_corrections_and_cycle_usage_counts_reversals(store: ClickHouseStore) -> None:
    """A WhatsApp decision corrected offline (a reversal and a corrected line) stored and read back: the
    decision in effect is the corrected line; the cycle's charged quantity nets the reversal out."""
    from omnimeter.pricing.rating import decisions_from_lines
    from omnimeter.sinks.tables import BILLABLE_LINES
    from tests.reference.books import book, books, event, rate

    prices = books(book("direct", {"whatsapp.template.marketing": {"unit": "0.0250"}}))
    chat = {"channel": "whatsapp", "account": "+1555", "contact": "+1999"}
    tpl = {**chat, "sender_kind": "system", "template": {"name": "t", "category": "marketing"}}
    at = datetime(2026, 11, 10, 10, tzinfo=UTC)
    events = [
        event("direct", "message.delivered", {**tpl, "message_id": "m1"}, 1, at),
        event("direct", "message.delivered", {**tpl, "message_id": "m2"}, 2, at + timedelta(hours=1)),
        event("direct", "message.received", {**chat, "entry_point": "ctwa_ad"}, 3, at - timedelta(hours=1)),
    ]
    lines = rate(events, prices)
    assert sum(1 for ln in lines if ln.corrects_line_id) == 4
    rows = [(*ln, "usage", 0, i, 0, NOW) for i, ln in enumerate(lines)]
    store.write([TableRows(BILLABLE_LINES.name, BILLABLE_LINES.columns, rows, "lines")])
    key = ("direct", "+1555", "+1999")
    stored = store.window_decisions([key, ("direct", "+1555", "+0000")], at - timedelta(hours=2))
    assert sorted(stored) == sorted(ln for ln in lines if ln.conversation)
    decided = decisions_from_lines(stored)[key]
    assert {ln.free_reason for ln in decided.values()} == {"free_entry_point"}
    assert {ln.line_index for ln in decided.values()} == {201}
    assert store.window_decisions([key], at + timedelta(hours=2)) == []
    assert store.cycle_usage("direct", lines[0].cycle_start)["whatsapp.template.marketing"] == (0, 0)


def test_an_insert_of_a_column_the_table_lacks_stops_with_what_to_do(store: ClickHouseStore) -> None:
    """A migration not applied (the code writes a column the table does not have): clickhouse-connect
    refuses the block before sending it. That is permanent (the worker stops with what to do), not an
    outage to retry forever."""
    block = TableRows("raw_events", (*RAW_EVENTS.columns, "no_such_column"), [(*raw("t", "e1", 0, 1), "x")], "tok")
    with pytest.raises(SinkPermanent, match="run the migrations"):
        store.insert([block])
