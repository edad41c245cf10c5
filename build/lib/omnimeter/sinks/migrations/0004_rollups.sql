-- Rollups of billable_lines by minute (UTC), hour (UTC) and day (the tenant's local date): rebuildable
-- caches that reports read. A refresh recomputes whole buckets from the finer level and writes them with
-- a newer `version`; ReplacingMergeTree keeps the newest, and reads use FINAL. Recomputing a bucket is
-- idempotent, so a refresh repeated after a crash, by two workers at once, or by `omnimeter rebuild`
-- gives the same rows. `inserted_at` on billable_lines (set by the server) tells a refresh which
-- buckets received lines since the last one.
ALTER TABLE ${db}.billable_lines ${on_cluster} ADD COLUMN IF NOT EXISTS inserted_at DateTime64(3, 'UTC') DEFAULT now64(3);

ALTER TABLE ${db}.billable_lines ${on_cluster} ADD INDEX IF NOT EXISTS by_inserted_at inserted_at TYPE minmax GRANULARITY 1;

CREATE TABLE IF NOT EXISTS ${db}.rollup_minute ${on_cluster}
(
    tenant_id          String,
    reseller_id        String,
    bucket             DateTime('UTC'),
    meter              LowCardinality(String),
    unit               LowCardinality(String),
    channel            LowCardinality(String),
    account            String,
    billing_unit       String,
    user_id            String,
    team               String,
    queue              String,
    bot_id             String,
    free_reason        LowCardinality(String),
    currency_platform  LowCardinality(String),
    currency_reseller  LowCardinality(String),
    lines              UInt64,
    quantity           Decimal(38, 6),
    amount_platform    Decimal(38, 6),
    amount_reseller    Decimal(38, 6),
    newest_event       DateTime64(3, 'UTC'),
    version            DateTime64(6, 'UTC')
)
ENGINE = ${replacing_merge_tree}
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, meter, channel, account, billing_unit, user_id, team, queue, bot_id, free_reason,
          reseller_id, unit, currency_platform, currency_reseller);

CREATE TABLE IF NOT EXISTS ${db}.rollup_hour ${on_cluster} AS ${db}.rollup_minute
ENGINE = ${replacing_merge_tree}
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, meter, channel, account, billing_unit, user_id, team, queue, bot_id, free_reason,
          reseller_id, unit, currency_platform, currency_reseller);

CREATE TABLE IF NOT EXISTS ${db}.rollup_day ${on_cluster}
(
    tenant_id          String,
    reseller_id        String,
    day                Date,
    meter              LowCardinality(String),
    unit               LowCardinality(String),
    channel            LowCardinality(String),
    account            String,
    billing_unit       String,
    user_id            String,
    team               String,
    queue              String,
    bot_id             String,
    free_reason        LowCardinality(String),
    currency_platform  LowCardinality(String),
    currency_reseller  LowCardinality(String),
    lines              UInt64,
    quantity           Decimal(38, 6),
    amount_platform    Decimal(38, 6),
    amount_reseller    Decimal(38, 6),
    newest_event       DateTime64(3, 'UTC'),
    time_zone          LowCardinality(String),
    version            DateTime64(6, 'UTC')
)
ENGINE = ${replacing_merge_tree}
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, meter, channel, account, billing_unit, user_id, team, queue, bot_id, free_reason,
          reseller_id, unit, currency_platform, currency_reseller);

-- `omnimeter rebuild` replaces a tenant's lines of whole cycles with a lightweight DELETE; the projection
-- by source position is rebuilt for the parts it touches.
ALTER TABLE ${db}.billable_lines ${on_cluster} MODIFY SETTING lightweight_mutation_projection_mode = 'rebuild';
