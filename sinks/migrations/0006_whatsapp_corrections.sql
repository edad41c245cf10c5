-- WhatsApp corrections (issue 14): a late message of a conversation can change a decision already stored.
-- The stored line is never rewritten: a reversal (the line negated) and the corrected line are appended,
-- both naming the line they correct (`corrects_line_id`: event_source/event_id/line_index) and why.
-- `conversation` is the contact of the WhatsApp conversation whose windows decided a line ('' for every
-- other line): the rate stage reads a conversation's decisions back by it. Lines stored before this
-- migration read '' there: their decisions stand.
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS conversation String DEFAULT '' AFTER quantity_platform;
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS corrects_line_id String DEFAULT '' AFTER conversation;
ALTER TABLE ${db}.billable_lines ${on_cluster}
    ADD COLUMN IF NOT EXISTS correction_reason String DEFAULT '' AFTER corrects_line_id;
