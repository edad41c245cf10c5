-- Alerts (issue 19): the destination prefix of each line (the longest prefix of the destination number a
-- deck of the line knows; '' for lines stored before this migration or without a number), and every alert
-- published on the alerts topic, one row per alert id (the topic is the record: a row missing after a
-- crash between publish and insert is inserted again from the topic when a worker starts).
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS destination_prefix LowCardinality(String) DEFAULT '' AFTER free_reason_cost;

CREATE TABLE IF NOT EXISTS ${db}.alerts ${on_cluster}
(
    alert_id      String,
    type          LowCardinality(String),
    tenant_id     String,
    reseller_id   String,
    subject       String,
    threshold     String,
    observed      String,
    currency      LowCardinality(String),
    period_start  DateTime64(3, 'UTC'),
    period_end    DateTime64(3, 'UTC'),
    message       String,
    evidence      String,
    raised_at     DateTime64(3, 'UTC'),
    version       DateTime64(6, 'UTC')
)
ENGINE = ${replacing_merge_tree}
PARTITION BY toYYYYMM(period_start)
ORDER BY (tenant_id, alert_id);
