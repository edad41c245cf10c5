-- Reference data mirrored by the worker each time a new version is applied: the directory as JSON
-- documents per entity, and the price books' source text. Reports read the latest version.
CREATE TABLE IF NOT EXISTS ${db}.reference_versions ${on_cluster}
(
    kind        LowCardinality(String),
    version     String,
    applied_at  DateTime64(3, 'UTC'),
    source      String CODEC(ZSTD(3))
)
ENGINE = ${merge_tree}
ORDER BY (kind, applied_at, version);

CREATE TABLE IF NOT EXISTS ${db}.dim_entities ${on_cluster}
(
    kind        LowCardinality(String),
    tenant_id   String,
    id          String,
    name        String,
    parent      String,
    attributes  String,
    version     String,
    applied_at  DateTime64(3, 'UTC')
)
ENGINE = ${merge_tree}
ORDER BY (kind, tenant_id, id, applied_at);
