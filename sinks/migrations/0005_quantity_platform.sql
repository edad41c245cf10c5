-- The billable quantity under the platform book's settings (a reseller's tenant whose wholesale book bills
-- otherwise than its retail book: increments, sent or delivered). Lines stored before this column read
-- it as their `quantity`, which they were priced on for both parties.
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS quantity_platform Decimal(18, 6) DEFAULT quantity AFTER quantity;
