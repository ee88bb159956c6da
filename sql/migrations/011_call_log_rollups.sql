-- Rollups of openai_call_log, so the panels read thousands of rows instead of millions.
--
-- How a row reaches the rollups, exactly once, whoever writes it (the proxy's batched
-- json_populate_recordset insert, the backfill, an app's five-column insert, a spool replayed
-- hours late, COPY):
--   1. A statement-level AFTER trigger on openai_call_log appends the statement's rows, summed per
--      (UTC hour, endpoint, model, tenant), to call_log_pending. It runs in the writer's transaction,
--      so the delta commits or rolls back with the rows themselves: never lost, never counted twice
--      (rows skipped by ON CONFLICT DO NOTHING are not in the transition table). It only INSERTs
--      into a table without indexes or constraints (sums are NUMERIC, which cannot overflow), so it
--      neither blocks on another writer nor fails where the row insert itself would not.
--      DELETE and UPDATE append negative (and positive) deltas the same way.
--   2. The proxy's maintenance (proxy/src/log/partitions.ts, tollgate_call_log_fold()) moves pending
--      deltas into call_log_hourly and call_log_daily in one transaction (DELETE ... RETURNING, then
--      upserts), one replica at a time (advisory lock). A failed fold leaves the deltas in place.
--   3. Panels read call_log_facts() (below): daily rollups for the whole UTC days in the range,
--      hourly rollups for the other whole hours, pending deltas not yet folded, and raw rows for the
--      partial hours at both ends. The same numbers as the raw rows, at any moment.
--
-- Money: rollups keep cost as BIGINT in units of 1e-10 USD (*_e10), the last digit of the raw
-- NUMERIC(18,10) column, so sums are integer additions (128-bit accumulators in SUM) and exact;
-- panels multiply by 1e-10 (an exact NUMERIC product) before the float8 Grafana reads. One rollup
-- row holds up to 9.2e8 USD. A *_rows count next to each cost keeps SQL's "SUM of only NULLs is
-- NULL" (an unpriced model shows no cost, not 0).
--
-- tenant IS NULL in a rollup row means "every tenant": the fold writes one such row per
-- (bucket, endpoint, model) next to the per-tenant rows, so an unfiltered panel reads 1/50th of
-- the rows. (Real tenants are never NULL: the column is NOT NULL in openai_call_log.)

-- Time-ordered ids (UUID version 7: 48 bits of Unix milliseconds, then random bits). A random
-- UUIDv4 key puts every insert on a random index page; these go to the right edge.
CREATE OR REPLACE FUNCTION tollgate_uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;
ALTER TABLE openai_call_log ALTER COLUMN id SET DEFAULT tollgate_uuid_v7();

-- UTC hour and day boundaries as IMMUTABLE expressions (timestamp without time zone arithmetic),
-- so with Grafana's literal time range they fold to constants when a query is planned: partition
-- pruning and index bounds at plan time.
CREATE OR REPLACE FUNCTION tollgate_floor(unit text, t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT date_trunc(unit, t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$$;
CREATE OR REPLACE FUNCTION tollgate_ceil(unit text, t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT date_trunc(unit, (t AT TIME ZONE 'UTC') + ('1 ' || unit)::interval - interval '1 microsecond') AT TIME ZONE 'UTC'
$$;

-- Deltas not folded yet: heap only, append only.
CREATE TABLE IF NOT EXISTS call_log_pending (
  bucket            TIMESTAMPTZ NOT NULL,
  endpoint          TEXT NOT NULL,
  model             TEXT NOT NULL,
  tenant            TEXT NOT NULL,
  calls             BIGINT NOT NULL,
  calls_proxy       BIGINT NOT NULL,
  hits              BIGINT NOT NULL,
  replays           BIGINT NOT NULL,
  coalesced         BIGINT NOT NULL,
  cost              NUMERIC NOT NULL,
  cost_rows         BIGINT NOT NULL,
  saved             NUMERIC NOT NULL,
  saved_hit         NUMERIC NOT NULL,
  saved_hit_rows    BIGINT NOT NULL,
  saved_replay      NUMERIC NOT NULL,
  saved_replay_rows BIGINT NOT NULL,
  saved_coal        NUMERIC NOT NULL,
  saved_coal_rows   BIGINT NOT NULL,
  tokens_prompt     BIGINT NOT NULL,
  tokens_completion BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS call_log_hourly (
  bucket               TIMESTAMPTZ NOT NULL,
  endpoint             TEXT NOT NULL,
  model                TEXT NOT NULL,
  tenant               TEXT,
  calls                BIGINT NOT NULL,
  calls_proxy          BIGINT NOT NULL,
  hits                 BIGINT NOT NULL,
  replays              BIGINT NOT NULL,
  coalesced            BIGINT NOT NULL,
  cost_e10             BIGINT NOT NULL,
  cost_rows            BIGINT NOT NULL,
  saved_e10            BIGINT NOT NULL,
  saved_hit_e10        BIGINT NOT NULL,
  saved_hit_rows       BIGINT NOT NULL,
  saved_replay_e10     BIGINT NOT NULL,
  saved_replay_rows    BIGINT NOT NULL,
  saved_coal_e10       BIGINT NOT NULL,
  saved_coal_rows      BIGINT NOT NULL,
  tokens_prompt        BIGINT NOT NULL,
  tokens_completion    BIGINT NOT NULL
);
-- Leading tenant: "every tenant" (IS NULL) and a tenant selection are both one range scan.
CREATE UNIQUE INDEX IF NOT EXISTS call_log_hourly_key
  ON call_log_hourly (tenant, bucket, endpoint, model) NULLS NOT DISTINCT;

CREATE TABLE IF NOT EXISTS call_log_daily (LIKE call_log_hourly);
CREATE UNIQUE INDEX IF NOT EXISTS call_log_daily_key
  ON call_log_daily (tenant, bucket, endpoint, model) NULLS NOT DISTINCT;
-- Every tenant's own rows in a range (the tenant variable's values).
CREATE INDEX IF NOT EXISTS call_log_hourly_bucket_idx ON call_log_hourly (bucket);
CREATE INDEX IF NOT EXISTS call_log_daily_bucket_idx ON call_log_daily (bucket);

GRANT SELECT ON call_log_pending, call_log_hourly, call_log_daily TO tollgate_grafana;

-- The delta of a set of rows (a transition table), with a sign: +1 inserted, -1 deleted.
-- Each trigger below is this one statement over its own transition table.
CREATE OR REPLACE FUNCTION tollgate_call_log_delta_ins() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO call_log_pending
  SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', endpoint, model, tenant,
         count(*), count(*) FILTER (WHERE cache_status <> 'external'),
         count(*) FILTER (WHERE cache_status = 'hit'),
         count(*) FILTER (WHERE cache_status = 'idempotent_replay'),
         count(*) FILTER (WHERE cache_status = 'coalesced'),
         COALESCE(sum(cost_usd), 0), count(cost_usd),
         COALESCE(sum(cost_saved_usd), 0),
         COALESCE(sum(cost_saved_usd) FILTER (WHERE cache_status = 'hit'), 0),
         count(cost_saved_usd) FILTER (WHERE cache_status = 'hit'),
         COALESCE(sum(cost_saved_usd) FILTER (WHERE cache_status = 'idempotent_replay'), 0),
         count(cost_saved_usd) FILTER (WHERE cache_status = 'idempotent_replay'),
         COALESCE(sum(cost_saved_usd) FILTER (WHERE cache_status = 'coalesced'), 0),
         count(cost_saved_usd) FILTER (WHERE cache_status = 'coalesced'),
         COALESCE(sum(tokens_prompt), 0), COALESCE(sum(tokens_completion), 0)
  FROM new_rows
  GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tollgate_call_log_delta_del() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO call_log_pending
  SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', endpoint, model, tenant,
         -count(*), -count(*) FILTER (WHERE cache_status <> 'external'),
         -count(*) FILTER (WHERE cache_status = 'hit'),
         -count(*) FILTER (WHERE cache_status = 'idempotent_replay'),
         -count(*) FILTER (WHERE cache_status = 'coalesced'),
         -COALESCE(sum(cost_usd), 0), -count(cost_usd),
         -COALESCE(sum(cost_saved_usd), 0),
         -COALESCE(sum(cost_saved_usd) FILTER (WHERE cache_status = 'hit'), 0),
         -count(cost_saved_usd) FILTER (WHERE cache_status = 'hit'),
         -COALESCE(sum(cost_saved_usd) FILTER (WHERE cache_status = 'idempotent_replay'), 0),
         -count(cost_saved_usd) FILTER (WHERE cache_status = 'idempotent_replay'),
         -COALESCE(sum(cost_saved_usd) FILTER (WHERE cache_status = 'coalesced'), 0),
         -count(cost_saved_usd) FILTER (WHERE cache_status = 'coalesced'),
         -COALESCE(sum(tokens_prompt), 0), -COALESCE(sum(tokens_completion), 0)
  FROM old_rows
  GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END
$$;

-- An UPDATE is its old rows taken out and its new rows put in.
CREATE OR REPLACE FUNCTION tollgate_call_log_delta_upd() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO call_log_pending
  SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', endpoint, model, tenant,
         sum(s), sum(s) FILTER (WHERE cache_status <> 'external'),
         COALESCE(sum(s) FILTER (WHERE cache_status = 'hit'), 0),
         COALESCE(sum(s) FILTER (WHERE cache_status = 'idempotent_replay'), 0),
         COALESCE(sum(s) FILTER (WHERE cache_status = 'coalesced'), 0),
         COALESCE(sum(s * cost_usd), 0), COALESCE(sum(s) FILTER (WHERE cost_usd IS NOT NULL), 0),
         COALESCE(sum(s * cost_saved_usd), 0),
         COALESCE(sum(s * cost_saved_usd) FILTER (WHERE cache_status = 'hit'), 0),
         COALESCE(sum(s) FILTER (WHERE cache_status = 'hit' AND cost_saved_usd IS NOT NULL), 0),
         COALESCE(sum(s * cost_saved_usd) FILTER (WHERE cache_status = 'idempotent_replay'), 0),
         COALESCE(sum(s) FILTER (WHERE cache_status = 'idempotent_replay' AND cost_saved_usd IS NOT NULL), 0),
         COALESCE(sum(s * cost_saved_usd) FILTER (WHERE cache_status = 'coalesced'), 0),
         COALESCE(sum(s) FILTER (WHERE cache_status = 'coalesced' AND cost_saved_usd IS NOT NULL), 0),
         COALESCE(sum(s * tokens_prompt), 0), COALESCE(sum(s * tokens_completion), 0)
  FROM (SELECT -1 AS s, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows) d
  GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END
$$;

-- TRUNCATE of the whole log empties what was derived from it (dropping a partition does not: that
-- is retention, and the rollups keep the history).
CREATE OR REPLACE FUNCTION tollgate_call_log_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE call_log_pending, call_log_hourly, call_log_daily;
  RETURN NULL;
END
$$;

-- The four triggers on a table (here the log; 015 moves them to the partitioned log).
CREATE OR REPLACE FUNCTION tollgate_call_log_add_triggers(log regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER call_log_delta_ins AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows
                  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_call_log_delta_ins()', log);
  EXECUTE format('CREATE TRIGGER call_log_delta_del AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows
                  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_call_log_delta_del()', log);
  EXECUTE format('CREATE TRIGGER call_log_delta_upd AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_call_log_delta_upd()', log);
  EXECUTE format('CREATE TRIGGER call_log_truncate AFTER TRUNCATE ON %s
                  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_call_log_truncate()', log);
END
$$;
SELECT tollgate_call_log_add_triggers('openai_call_log');

-- Folds at most max_rows pending deltas into the rollups; returns how many it folded (0 when
-- another session is folding: the advisory lock makes replicas take turns instead of waiting).
-- The delta rows are deleted and their sums upserted in one statement: all or nothing.
CREATE OR REPLACE FUNCTION tollgate_call_log_fold(max_rows integer DEFAULT 100000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  folded bigint;
  unit text;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7346221002) THEN
    RETURN 0;
  END IF;
  CREATE TEMP TABLE IF NOT EXISTS tollgate_fold (LIKE call_log_pending) ON COMMIT DELETE ROWS;
  TRUNCATE pg_temp.tollgate_fold;
  WITH moved AS (
    DELETE FROM call_log_pending p
     WHERE p.ctid = ANY (ARRAY(SELECT ctid FROM call_log_pending LIMIT max_rows))
    RETURNING p.*
  )
  INSERT INTO pg_temp.tollgate_fold SELECT * FROM moved;
  GET DIAGNOSTICS folded = ROW_COUNT;
  -- Each delta goes to its tenant's row and to the "every tenant" row (tenant NULL), by hour and by day.
  FOREACH unit IN ARRAY ARRAY['hour', 'day'] LOOP
    EXECUTE format($f$
      INSERT INTO %I AS r
      SELECT tollgate_floor(%L, f.bucket), f.endpoint, f.model, t.tenant,
             sum(calls), sum(calls_proxy), sum(hits), sum(replays), sum(coalesced),
             (sum(cost) * 10000000000)::bigint, sum(cost_rows), (sum(saved) * 10000000000)::bigint,
             (sum(saved_hit) * 10000000000)::bigint, sum(saved_hit_rows),
             (sum(saved_replay) * 10000000000)::bigint, sum(saved_replay_rows),
             (sum(saved_coal) * 10000000000)::bigint, sum(saved_coal_rows),
             sum(tokens_prompt), sum(tokens_completion)
        FROM pg_temp.tollgate_fold f CROSS JOIN LATERAL (VALUES (f.tenant), (NULL)) AS t (tenant)
       GROUP BY 1, 2, 3, 4
      ON CONFLICT (tenant, bucket, endpoint, model) DO UPDATE SET
        calls = r.calls + EXCLUDED.calls, calls_proxy = r.calls_proxy + EXCLUDED.calls_proxy,
        hits = r.hits + EXCLUDED.hits, replays = r.replays + EXCLUDED.replays,
        coalesced = r.coalesced + EXCLUDED.coalesced, cost_e10 = r.cost_e10 + EXCLUDED.cost_e10,
        cost_rows = r.cost_rows + EXCLUDED.cost_rows, saved_e10 = r.saved_e10 + EXCLUDED.saved_e10,
        saved_hit_e10 = r.saved_hit_e10 + EXCLUDED.saved_hit_e10, saved_hit_rows = r.saved_hit_rows + EXCLUDED.saved_hit_rows,
        saved_replay_e10 = r.saved_replay_e10 + EXCLUDED.saved_replay_e10,
        saved_replay_rows = r.saved_replay_rows + EXCLUDED.saved_replay_rows,
        saved_coal_e10 = r.saved_coal_e10 + EXCLUDED.saved_coal_e10, saved_coal_rows = r.saved_coal_rows + EXCLUDED.saved_coal_rows,
        tokens_prompt = r.tokens_prompt + EXCLUDED.tokens_prompt,
        tokens_completion = r.tokens_completion + EXCLUDED.tokens_completion
      $f$, CASE unit WHEN 'hour' THEN 'call_log_hourly' ELSE 'call_log_daily' END, unit);
  END LOOP;
  -- A key whose rows were all deleted keeps a row of zeros; call_log_facts() skips it.
  RETURN folded;
END
$$;

-- Everything the panels aggregate, for the range [t_from, t_to] (both ends included, as Grafana's
-- $__timeFilter) and the filter bar's selections ('__all' in an array: no filter on that column;
-- tenants '__each': every tenant, one row per tenant, for the tenant variable's values).
-- One row per rollup row, pending delta or raw row, with `bucket` its hour, day or created_at;
-- a panel sums the columns it needs and groups by bucket (by UTC day or coarser) or a dimension.
-- A cost whose group may hold only unpriced rows is `CASE WHEN SUM(cost_rows) <> 0 THEN ... END`,
-- SQL's NULL sum of the raw rows (deleted rows leave deltas that cancel out to 0, not NULL).
--   D  call_log_daily    whole UTC days inside the range
--   H  call_log_hourly   the other whole hours inside the range
--   P  call_log_pending  deltas of whole hours inside the range not folded yet
--   R  openai_call_log   raw rows of the partial hours at both ends
-- A language-SQL, STABLE, non-strict function: PostgreSQL inlines it into the calling query, so
-- with Grafana's literal range and selections the branches that do not apply fold away, the
-- 'every tenant' rows are chosen when the tenant is All, and only the partitions of the two
-- partial hours are scanned.
CREATE OR REPLACE FUNCTION call_log_facts(t_from timestamptz, t_to timestamptz,
                                          endpoints text[], models text[], tenants text[])
RETURNS TABLE (
  bucket timestamptz, endpoint text, model text, tenant text,
  calls bigint, calls_proxy bigint, hits bigint, replays bigint, coalesced bigint,
  cost_e10 bigint, saved_e10 bigint, saved_hit_e10 bigint, saved_replay_e10 bigint, saved_coal_e10 bigint,
  tokens_prompt bigint, tokens_completion bigint,
  cost_rows bigint, saved_hit_rows bigint, saved_replay_rows bigint, saved_coal_rows bigint
)
LANGUAGE sql STABLE AS $$
  SELECT r.bucket, r.endpoint, r.model, r.tenant, r.calls, r.calls_proxy, r.hits, r.replays, r.coalesced,
         CASE WHEN r.cost_rows <> 0 THEN r.cost_e10 END, r.saved_e10,
         CASE WHEN r.saved_hit_rows <> 0 THEN r.saved_hit_e10 END,
         CASE WHEN r.saved_replay_rows <> 0 THEN r.saved_replay_e10 END,
         CASE WHEN r.saved_coal_rows <> 0 THEN r.saved_coal_e10 END,
         r.tokens_prompt, r.tokens_completion, r.cost_rows, r.saved_hit_rows, r.saved_replay_rows, r.saved_coal_rows
    FROM (SELECT * FROM call_log_daily
           WHERE bucket >= tollgate_ceil('day', t_from) AND bucket < tollgate_floor('day', t_to)
          UNION ALL
          SELECT * FROM call_log_hourly
           WHERE bucket >= tollgate_ceil('hour', t_from) AND bucket < tollgate_floor('hour', t_to)
             AND NOT (bucket >= tollgate_ceil('day', t_from) AND bucket < tollgate_floor('day', t_to))) r
   WHERE r.calls <> 0
     AND ('__all' = ANY (endpoints) OR r.endpoint = ANY (endpoints))
     AND ('__all' = ANY (models) OR r.model = ANY (models))
     AND (('__all' = ANY (tenants) AND r.tenant IS NULL)
          OR ('__each' = ANY (tenants) AND r.tenant IS NOT NULL)
          OR (NOT '__all' = ANY (tenants) AND r.tenant = ANY (tenants)))
  UNION ALL
  SELECT p.bucket, p.endpoint, p.model, p.tenant, p.calls, p.calls_proxy, p.hits, p.replays, p.coalesced,
         CASE WHEN p.cost_rows <> 0 THEN (p.cost * 10000000000)::bigint END, (p.saved * 10000000000)::bigint,
         CASE WHEN p.saved_hit_rows <> 0 THEN (p.saved_hit * 10000000000)::bigint END,
         CASE WHEN p.saved_replay_rows <> 0 THEN (p.saved_replay * 10000000000)::bigint END,
         CASE WHEN p.saved_coal_rows <> 0 THEN (p.saved_coal * 10000000000)::bigint END,
         p.tokens_prompt, p.tokens_completion, p.cost_rows, p.saved_hit_rows, p.saved_replay_rows, p.saved_coal_rows
    FROM call_log_pending p
   WHERE p.bucket >= tollgate_ceil('hour', t_from) AND p.bucket < tollgate_floor('hour', t_to)
     AND ('__all' = ANY (endpoints) OR p.endpoint = ANY (endpoints))
     AND ('__all' = ANY (models) OR p.model = ANY (models))
     AND ('__all' = ANY (tenants) OR '__each' = ANY (tenants) OR p.tenant = ANY (tenants))
  UNION ALL
  SELECT c.created_at, c.endpoint, c.model, c.tenant, 1, (c.cache_status <> 'external')::int,
         (c.cache_status = 'hit')::int, (c.cache_status = 'idempotent_replay')::int,
         (c.cache_status = 'coalesced')::int,
         (c.cost_usd * 10000000000)::bigint, COALESCE((c.cost_saved_usd * 10000000000)::bigint, 0),
         CASE WHEN c.cache_status = 'hit' THEN (c.cost_saved_usd * 10000000000)::bigint END,
         CASE WHEN c.cache_status = 'idempotent_replay' THEN (c.cost_saved_usd * 10000000000)::bigint END,
         CASE WHEN c.cache_status = 'coalesced' THEN (c.cost_saved_usd * 10000000000)::bigint END,
         COALESCE(c.tokens_prompt, 0), COALESCE(c.tokens_completion, 0), (c.cost_usd IS NOT NULL)::int,
         (c.cache_status = 'hit' AND c.cost_saved_usd IS NOT NULL)::int,
         (c.cache_status = 'idempotent_replay' AND c.cost_saved_usd IS NOT NULL)::int,
         (c.cache_status = 'coalesced' AND c.cost_saved_usd IS NOT NULL)::int
    FROM openai_call_log c
   -- [t_from, first whole hour) and [end of the last whole hour, t_to], as two index ranges
   -- (within one hour, the second starts where the first ends)
   WHERE ((c.created_at >= t_from AND c.created_at < tollgate_ceil('hour', t_from) AND c.created_at <= t_to)
          OR (c.created_at >= greatest(tollgate_floor('hour', t_to), tollgate_ceil('hour', t_from))
              AND c.created_at <= t_to))
     AND ('__all' = ANY (endpoints) OR c.endpoint = ANY (endpoints))
     AND ('__all' = ANY (models) OR c.model = ANY (models))
     AND ('__all' = ANY (tenants) OR '__each' = ANY (tenants) OR c.tenant = ANY (tenants))
$$;
