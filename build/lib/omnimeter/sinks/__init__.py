"""Writers to storage. Only this package and `streams` touch I/O.

`sinks.clickhouse` is the ClickHouse store (chdb:// in-process or http(s):// server): migrations, idempotent
batch inserts with retry, and the look-ups the ingest stage needs (recovery set, dedupe keys).
"""
