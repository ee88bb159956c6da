-- Checks the existing rows against 013's bound: a scan under SHARE UPDATE EXCLUSIVE, which lets
-- inserts, updates and deletes go on (about 2 s for 10 million rows).
ALTER TABLE openai_call_log VALIDATE CONSTRAINT openai_call_log_legacy_bound;
