-- Accepted usage events, one row each: the source of truth that rated lines and rollups rebuild from.
-- ORDER BY starts with the tenant and is the dedupe identity (tenant, source, id), so the dedupe look-up
-- of the ingest stage is a primary-key read. The projection by Kafka coordinates is kept atomically with
-- each part; the worker reads it after a restart to skip records whose outcome is already stored.
CREATE TABLE IF NOT EXISTS ${db}.raw_events ${on_cluster}
(
    tenant_id        String,
    source           String,
    event_id         String,
    type             LowCardinality(String),
    event_time       DateTime64(3, 'UTC'),
    specversion      LowCardinality(String),
    datacontenttype  LowCardinality(String),
    channel          LowCardinality(String),
    data             String CODEC(ZSTD(3)),
    extensions       String CODEC(ZSTD(3)),
    kafka_topic      LowCardinality(String),
    kafka_partition  UInt32,
    kafka_offset     UInt64,
    batch_index      UInt32,
    ingested_at      DateTime64(3, 'UTC'),
    PROJECTION by_source_position
    (
        SELECT kafka_topic, kafka_partition, kafka_offset, batch_index
        ORDER BY (kafka_topic, kafka_partition, kafka_offset, batch_index)
    )
)
ENGINE = ${merge_tree}
PARTITION BY toYYYYMM(event_time)
ORDER BY (tenant_id, source, event_id)
SETTINGS non_replicated_deduplication_window = 10000, deduplicate_merge_projection_mode = 'rebuild';

-- Dead-lettered records and batch elements, with the reason; the same record also goes to the
-- dead-letter topic. Ordered by source position: one row per (topic, partition, offset, index).
CREATE TABLE IF NOT EXISTS ${db}.rejected_events ${on_cluster}
(
    tenant_id        String,
    event_id         String,
    reason           LowCardinality(String),
    field            String,
    detail           String,
    raw              String CODEC(ZSTD(3)),
    kafka_topic      LowCardinality(String),
    kafka_partition  UInt32,
    kafka_offset     UInt64,
    batch_index      UInt32,
    rejected_at      DateTime64(3, 'UTC')
)
ENGINE = ${merge_tree}
PARTITION BY toYYYYMM(rejected_at)
ORDER BY (kafka_topic, kafka_partition, kafka_offset, batch_index)
SETTINGS non_replicated_deduplication_window = 10000;

-- Events dropped as duplicates of a stored one (same tenant, source, id), with where the copy came from.
CREATE TABLE IF NOT EXISTS ${db}.duplicate_events ${on_cluster}
(
    tenant_id        String,
    source           String,
    event_id         String,
    type             LowCardinality(String),
    event_time       DateTime64(3, 'UTC'),
    kafka_topic      LowCardinality(String),
    kafka_partition  UInt32,
    kafka_offset     UInt64,
    batch_index      UInt32,
    seen_at          DateTime64(3, 'UTC'),
    PROJECTION by_source_position
    (
        SELECT kafka_topic, kafka_partition, kafka_offset, batch_index
        ORDER BY (kafka_topic, kafka_partition, kafka_offset, batch_index)
    )
)
ENGINE = ${merge_tree}
PARTITION BY toYYYYMM(seen_at)
ORDER BY (tenant_id, source, event_id)
SETTINGS non_replicated_deduplication_window = 10000, deduplicate_merge_projection_mode = 'rebuild';
