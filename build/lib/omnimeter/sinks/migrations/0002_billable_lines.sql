-- Rated lines: one per (event, meter), with both amounts and the books that priced them. Rebuildable
-- from raw_events. Amounts keep 6 decimals; invoices round once per line to the currency's minor units.
CREATE TABLE IF NOT EXISTS ${db}.billable_lines ${on_cluster}
(
    tenant_id          String,
    reseller_id        String,
    meter              LowCardinality(String),
    quantity           Decimal(18, 6),
    unit               LowCardinality(String),
    event_source       String,
    event_id           String,
    line_index         UInt16,
    event_time         DateTime64(3, 'UTC'),
    cycle_start        Date,
    channel            LowCardinality(String),
    country            LowCardinality(String),
    account            String,
    billing_unit       String,
    user_id            String,
    team               String,
    queue              String,
    bot_id             String,
    campaign           String,
    amount_platform    Decimal(18, 6),
    currency_platform  LowCardinality(String),
    book_platform      LowCardinality(String),
    amount_reseller    Decimal(18, 6),
    currency_reseller  LowCardinality(String),
    book_reseller      LowCardinality(String),
    free_reason        LowCardinality(String),
    kafka_topic        LowCardinality(String),
    kafka_partition    UInt32,
    kafka_offset       UInt64,
    batch_index        UInt32,
    rated_at           DateTime64(3, 'UTC'),
    PROJECTION by_source_position
    (
        SELECT kafka_topic, kafka_partition, kafka_offset, batch_index
        ORDER BY (kafka_topic, kafka_partition, kafka_offset, batch_index)
    )
)
ENGINE = ${merge_tree}
PARTITION BY toYYYYMM(event_time)
ORDER BY (tenant_id, cycle_start, meter, event_time, event_source, event_id, line_index)
SETTINGS non_replicated_deduplication_window = 10000, deduplicate_merge_projection_mode = 'rebuild';
