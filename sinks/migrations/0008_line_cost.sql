-- What each line costs the platform (issue 19): the supplier's quantity under its cost book's settings,
-- the amount (a provider-reported price wins over the cost book), its currency and cost book, where the
-- amount came from ('provider', 'book', '' when no cost book prices the meter) and why the supplier does
-- not charge it. Lines stored before this migration carry no cost ('' source, 0).
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS quantity_cost Decimal(18, 6) DEFAULT 0 AFTER free_reason_platform;
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS cost_amount Decimal(18, 6) DEFAULT 0 AFTER quantity_cost;
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS cost_currency LowCardinality(String) DEFAULT '' AFTER cost_amount;
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS cost_book LowCardinality(String) DEFAULT '' AFTER cost_currency;
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS cost_source LowCardinality(String) DEFAULT '' AFTER cost_book;
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS free_reason_cost LowCardinality(String) DEFAULT '' AFTER cost_source;
