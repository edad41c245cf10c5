-- Each amount under its own book's settings (issue 14): a line can be free for one party and charged for
-- the other (a wholesale book whose WhatsApp rules charge service messages in the window, a retail book
-- that does not). `free_reason` is the decision for the price the tenant pays, `free_reason_platform` the
-- one for the price to platform. Lines stored before this migration were decided once for both: they
-- read their `free_reason` there.
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS free_reason_platform LowCardinality(String) DEFAULT free_reason AFTER correction_reason;
