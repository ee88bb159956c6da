-- Prepares the existing openai_call_log to become the first partition of a time-partitioned log
-- (015), covering everything before a cutover two UTC days ahead (room for a migration that runs
-- near midnight). NOT VALID: only a catalog change, no scan; rows written from now on are checked
-- (none is dated two days ahead). 014 validates it without blocking writers, and 015 then attaches
-- the table without a scan. The cutover is recorded for 015.
CREATE TABLE IF NOT EXISTS tollgate_call_log_meta (
  legacy_until TIMESTAMPTZ NOT NULL
);
DO $$
DECLARE
  cutover timestamptz := tollgate_floor('day', now()) + interval '2 days';
BEGIN
  INSERT INTO tollgate_call_log_meta (legacy_until) VALUES (cutover);
  EXECUTE format('ALTER TABLE openai_call_log ADD CONSTRAINT openai_call_log_legacy_bound CHECK (created_at < %L) NOT VALID',
                 cutover);
END
$$;
