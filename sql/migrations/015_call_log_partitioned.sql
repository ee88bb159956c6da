-- openai_call_log becomes a table partitioned by created_at, one partition per UTC day.
--
-- What this does to an existing database, in one short transaction (catalog changes only, no row
-- is copied or scanned; the locks are held for milliseconds):
--   - the existing table is renamed openai_call_log_legacy and attached, as it is, as the partition
--     of everything before the cutover of 013 (its rows, indexes and numbers stay; 014 proved the
--     bound, so attaching needs no scan). Retention drops it whole once the cutover is older than
--     CALL_LOG_RETENTION_DAYS. An empty table (a new database) is dropped instead;
--   - a new parent named openai_call_log with the same columns, defaults and checks in the same
--     order (so json_populate_recordset(NULL::openai_call_log, ...) and every writer, old replicas
--     included, keep working), a DEFAULT partition that catches rows no day partition covers yet
--     (nothing is ever refused for its date), and the day partitions of the next week;
--   - the rollup triggers of 011 move to the parent, in the same transaction (no write is missed).
-- New day partitions are created ahead, and old ones dropped, by tollgate_call_log_maintain()
-- (run by the proxy, proxy/src/log/partitions.ts).
--
-- Indexes are per partition (tollgate_call_log_create_partition), not on the parent, so the legacy
-- table keeps its own and nothing is rebuilt. A day partition has:
--   PRIMARY KEY (id)                     ids are UUIDv7 (011): inserts append at the right edge
--   UNIQUE (request_id, created_at)      the writer's ON CONFLICT DO NOTHING (010: a replayed row)
--   (endpoint, model, created_at)        the Costs drill-down: one model's calls, newest first
--   BRIN (created_at)                    the raw partial hours panels read (call_log_facts)
-- Panels aggregate the rollups, so the old per-column indexes are not needed on new partitions.
ALTER TABLE openai_call_log RENAME TO openai_call_log_legacy;

CREATE TABLE openai_call_log (LIKE openai_call_log_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
  PARTITION BY RANGE (created_at);
ALTER TABLE openai_call_log DROP CONSTRAINT openai_call_log_legacy_bound;
GRANT SELECT ON openai_call_log TO tollgate_grafana;

DO $$
DECLARE
  cutover timestamptz := (SELECT legacy_until FROM tollgate_call_log_meta);
BEGIN
  EXECUTE format('ALTER TABLE openai_call_log ATTACH PARTITION openai_call_log_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
                 cutover);
END
$$;
-- A new (or still empty) database has no past to keep: no legacy partition, every day gets its own.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM openai_call_log_legacy) THEN
    ALTER TABLE openai_call_log DETACH PARTITION openai_call_log_legacy;
    DROP TABLE openai_call_log_legacy;
    UPDATE tollgate_call_log_meta SET legacy_until = '-infinity';
  END IF;
END
$$;
CREATE TABLE openai_call_log_default PARTITION OF openai_call_log DEFAULT;
CREATE INDEX openai_call_log_default_created_at_idx ON openai_call_log_default (created_at);

DO $$
BEGIN
  IF to_regclass('openai_call_log_legacy') IS NOT NULL THEN
    DROP TRIGGER call_log_delta_ins ON openai_call_log_legacy;
    DROP TRIGGER call_log_delta_del ON openai_call_log_legacy;
    DROP TRIGGER call_log_delta_upd ON openai_call_log_legacy;
    DROP TRIGGER call_log_truncate ON openai_call_log_legacy;
  END IF;
END
$$;
SELECT tollgate_call_log_add_triggers('openai_call_log');

-- One day partition [day, day + 1 day). Rows of that day that went to the DEFAULT partition are
-- moved into it first (a move, not a new call: no trigger fires, the rollups already count them).
-- Returns false when it exists or the legacy partition covers the day.
CREATE OR REPLACE FUNCTION tollgate_call_log_create_partition(day timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  lo timestamptz := tollgate_floor('day', day);
  hi timestamptz := tollgate_floor('day', day) + interval '1 day';
  name text := 'openai_call_log_p' || to_char(tollgate_floor('day', day) AT TIME ZONE 'UTC', 'YYYYMMDD');
BEGIN
  IF to_regclass(name) IS NOT NULL OR lo < (SELECT legacy_until FROM tollgate_call_log_meta) THEN
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I (LIKE openai_call_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
  EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (id)', name);
  EXECUTE format('ALTER TABLE %I ADD UNIQUE (request_id, created_at)', name);
  EXECUTE format('CREATE INDEX ON %I (endpoint, model, created_at)', name);
  EXECUTE format('CREATE INDEX ON %I USING brin (created_at) WITH (pages_per_range = 16)', name);
  EXECUTE format('ALTER TABLE %I ADD CHECK (created_at >= %L AND created_at < %L)', name, lo, hi);
  EXECUTE format('WITH moved AS (DELETE FROM openai_call_log_default WHERE created_at >= %L AND created_at < %L RETURNING *)
                  INSERT INTO %I SELECT * FROM moved', lo, hi, name);
  EXECUTE format('ALTER TABLE openai_call_log ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
  RETURN true;
END
$$;

-- The partitions' upper bounds, from the catalog (day partitions and the legacy one).
CREATE OR REPLACE FUNCTION tollgate_call_log_partitions()
RETURNS TABLE (partition regclass, upper_bound timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT i.inhrelid::regclass,
         substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'openai_call_log'::regclass
     AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
$$;

-- Creates the day partitions from today to days_ahead days ahead; with retention_days > 0, drops
-- the partitions whose every row is older than that many days (the rollups keep their numbers).
-- Returns what it did, for the proxy's log.
CREATE OR REPLACE FUNCTION tollgate_call_log_maintain(days_ahead integer, retention_days integer)
RETURNS TABLE (created text[], dropped text[])
LANGUAGE plpgsql AS $$
DECLARE
  d integer;
  today timestamptz := tollgate_floor('day', now());
  p record;
BEGIN
  created := '{}';
  dropped := '{}';
  -- Days that reached the DEFAULT partition (a backfill, rows hours or days late, a day dropped by
  -- retention and written again) get their own partition, their rows moved into it.
  FOR p IN SELECT DISTINCT tollgate_floor('day', created_at) AS day FROM openai_call_log_default LIMIT 400 LOOP
    IF tollgate_call_log_create_partition(p.day) THEN
      created := created || ('openai_call_log_p' || to_char(p.day AT TIME ZONE 'UTC', 'YYYYMMDD'));
    END IF;
  END LOOP;
  FOR d IN 0 .. days_ahead LOOP
    IF tollgate_call_log_create_partition(today + make_interval(days => d)) THEN
      created := created || ('openai_call_log_p' || to_char((today + make_interval(days => d)) AT TIME ZONE 'UTC', 'YYYYMMDD'));
    END IF;
  END LOOP;
  IF retention_days > 0 THEN
    FOR p IN SELECT * FROM tollgate_call_log_partitions()
              WHERE upper_bound <= today - make_interval(days => retention_days) ORDER BY upper_bound LOOP
      EXECUTE format('ALTER TABLE openai_call_log DETACH PARTITION %s', p.partition);
      EXECUTE format('DROP TABLE %s', p.partition);
      dropped := dropped || p.partition::text;
    END LOOP;
  END IF;
  RETURN NEXT;
END
$$;

SELECT tollgate_call_log_maintain(7, 0);
