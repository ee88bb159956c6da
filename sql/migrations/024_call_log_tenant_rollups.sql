-- The last two Tenants-page reads over 100 ms at 10 M calls (issue 10):
--
--   call_log_tenant_hourly/daily   per (bucket, tenant): calls, cost, savings, hits. The Tenants
--                                  page's per-tenant series and totals with nothing but tenants
--                                  selected read one row per tenant and day here, not one per
--                                  tenant, day, endpoint and model in call_log_daily (16 times as
--                                  many in the bench: 72,000 rows for 90 days, 121 ms). Kept like
--                                  the other families: the fold sums the same call_log_pending
--                                  deltas into it, call_log_tenant_facts() reads daily rows for
--                                  whole days, hourly rows for other whole hours, the deltas not
--                                  folded yet and the raw rows of the partial hours: exact.
--   day-partition indexes          for the Tenants call list of one tenant filtered by app user, tag
--                                  or model (tenants_calls.sql), which read the tenant's calls newest
--                                  first until 500 matched: every call of a big tenant for a rare
--                                  value. See the end of this file.
--
-- Catalog changes and one read of the existing hourly and daily rollups (seconds: their size is the
-- number of (bucket, endpoint, model, tenant) combinations, not of calls). Writers never wait: the
-- call log is not locked, its trigger functions are unchanged. The fold's advisory lock keeps every
-- fold out until this commits, so the new rollups start from the folded rollups as they are, and
-- every delta still pending is folded into both by the new fold.
SELECT pg_advisory_xact_lock(7346221002);

CREATE TABLE IF NOT EXISTS call_log_tenant_hourly (
  bucket         TIMESTAMPTZ NOT NULL,
  tenant         TEXT NOT NULL,
  calls          BIGINT NOT NULL,
  calls_proxy    BIGINT NOT NULL,
  hits           BIGINT NOT NULL,
  cost_e10       BIGINT NOT NULL,
  cost_rows      BIGINT NOT NULL,
  saved_e10      BIGINT NOT NULL,
  saved_hit_e10  BIGINT NOT NULL,
  saved_idem_e10 BIGINT NOT NULL
);
-- Leading bucket: the panels read every tenant of a range (a tenant selection filters those few rows).
CREATE UNIQUE INDEX IF NOT EXISTS call_log_tenant_hourly_key ON call_log_tenant_hourly (bucket, tenant);
CREATE TABLE IF NOT EXISTS call_log_tenant_daily (LIKE call_log_tenant_hourly);
CREATE UNIQUE INDEX IF NOT EXISTS call_log_tenant_daily_key ON call_log_tenant_daily (bucket, tenant);
GRANT SELECT ON call_log_tenant_hourly, call_log_tenant_daily TO tollgate_grafana;

-- The rows already folded: the per-tenant rows of the call-log rollups hold exactly the deltas
-- folded so far (011, 012, 022), summed over endpoint and model. The deltas still pending are folded
-- into these tables by the new fold below, like into the others.
DELETE FROM call_log_tenant_hourly;
DELETE FROM call_log_tenant_daily;
INSERT INTO call_log_tenant_hourly
SELECT bucket, tenant, sum(calls), sum(calls_proxy), sum(hits), sum(cost_e10), sum(cost_rows), sum(saved_e10),
       sum(saved_hit_e10), sum(saved_replay_e10) + sum(saved_coal_e10)
  FROM call_log_hourly
 WHERE tenant IS NOT NULL
 GROUP BY 1, 2;
INSERT INTO call_log_tenant_daily
SELECT bucket, tenant, sum(calls), sum(calls_proxy), sum(hits), sum(cost_e10), sum(cost_rows), sum(saved_e10),
       sum(saved_hit_e10), sum(saved_replay_e10) + sum(saved_coal_e10)
  FROM call_log_daily
 WHERE tenant IS NOT NULL
 GROUP BY 1, 2;

-- The fold: 021's, then the same deltas (still in this transaction's temporary table
-- tollgate_fold_v2, which 021's fold fills and only empties at commit) summed per (bucket, tenant).
-- 021's fold is kept under another name rather than copied, so the two cannot drift apart. Both take
-- the same advisory lock (re-entrant in a session): a replica whose fold is refused folds nothing.
ALTER FUNCTION tollgate_call_log_fold(integer) RENAME TO tollgate_call_log_fold_021;
CREATE FUNCTION tollgate_call_log_fold(max_rows integer DEFAULT 100000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  folded bigint;
  unit text;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7346221002) THEN
    RETURN 0;
  END IF;
  folded := tollgate_call_log_fold_021(max_rows);
  IF folded = 0 THEN
    RETURN 0;
  END IF;
  FOREACH unit IN ARRAY ARRAY['hour', 'day'] LOOP
    EXECUTE format($f$
      INSERT INTO %I AS r (bucket, tenant, calls, calls_proxy, hits, cost_e10, cost_rows, saved_e10, saved_hit_e10,
                           saved_idem_e10)
      SELECT tollgate_floor(%L, f.bucket), f.tenant, sum(calls), sum(calls_proxy), sum(hits),
             (sum(cost) * 10000000000)::bigint, sum(cost_rows), (sum(saved) * 10000000000)::bigint,
             (sum(saved_hit) * 10000000000)::bigint, ((sum(saved_replay) + sum(saved_coal)) * 10000000000)::bigint
        FROM pg_temp.tollgate_fold_v2 f
       GROUP BY 1, 2
      ON CONFLICT (bucket, tenant) DO UPDATE SET
        calls = r.calls + EXCLUDED.calls, calls_proxy = r.calls_proxy + EXCLUDED.calls_proxy, hits = r.hits + EXCLUDED.hits,
        cost_e10 = r.cost_e10 + EXCLUDED.cost_e10, cost_rows = r.cost_rows + EXCLUDED.cost_rows,
        saved_e10 = r.saved_e10 + EXCLUDED.saved_e10, saved_hit_e10 = r.saved_hit_e10 + EXCLUDED.saved_hit_e10,
        saved_idem_e10 = r.saved_idem_e10 + EXCLUDED.saved_idem_e10
      $f$, CASE unit WHEN 'hour' THEN 'call_log_tenant_hourly' ELSE 'call_log_tenant_daily' END, unit);
  END LOOP;
  RETURN folded;
END
$$;

-- TRUNCATE of the whole log empties everything derived from it (021's list and the new tables).
CREATE OR REPLACE FUNCTION tollgate_call_log_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE call_log_pending, call_log_hourly, call_log_daily, call_log_attr_hourly, call_log_attr_daily,
           call_log_attr_tenant_hourly, call_log_attr_tenant_daily, call_log_tenant_hourly, call_log_tenant_daily,
           call_log_latency_pending, call_log_latency_hourly, call_log_latency_daily, call_log_latency_tenant_daily;
  RETURN NULL;
END
$$;

-- Per (bucket, tenant) for [t_from, t_to] and a tenant selection ('__all': every tenant), every
-- endpoint and model, any app user and tags. Sources as call_log_attr_facts. cost_e10 is NULL where
-- only unpriced calls are summed; saved_idem_e10 is replays' and coalesced calls' savings.
CREATE OR REPLACE FUNCTION call_log_tenant_facts(t_from timestamptz, t_to timestamptz, tenants text[])
RETURNS TABLE (
  bucket timestamptz, tenant text, calls bigint, calls_proxy bigint, hits bigint, cost_e10 bigint, cost_rows bigint,
  saved_e10 bigint, saved_hit_e10 bigint, saved_idem_e10 bigint
)
LANGUAGE sql STABLE AS $$
  SELECT r.bucket, r.tenant, r.calls, r.calls_proxy, r.hits, CASE WHEN r.cost_rows <> 0 THEN r.cost_e10 END, r.cost_rows,
         r.saved_e10, r.saved_hit_e10, r.saved_idem_e10
    FROM (SELECT * FROM call_log_tenant_daily
           WHERE bucket >= tollgate_ceil('day', t_from) AND bucket < tollgate_floor('day', t_to)
          UNION ALL
          SELECT * FROM call_log_tenant_hourly
           WHERE bucket >= tollgate_ceil('hour', t_from)
             AND bucket < CASE WHEN tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
                               THEN tollgate_ceil('day', t_from) ELSE tollgate_floor('hour', t_to) END
          UNION ALL
          SELECT * FROM call_log_tenant_hourly
           WHERE tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
             AND bucket >= tollgate_floor('day', t_to) AND bucket < tollgate_floor('hour', t_to)) r
   WHERE r.calls <> 0
     AND ('__all' = ANY (tenants) OR r.tenant = ANY (tenants))
  UNION ALL
  SELECT p.bucket, p.tenant, p.calls, p.calls_proxy, p.hits,
         CASE WHEN p.cost_rows <> 0 THEN (p.cost * 10000000000)::bigint END, p.cost_rows,
         (p.saved * 10000000000)::bigint, (p.saved_hit * 10000000000)::bigint,
         ((p.saved_replay + p.saved_coal) * 10000000000)::bigint
    FROM call_log_pending p
   WHERE p.bucket >= tollgate_ceil('hour', t_from) AND p.bucket < tollgate_floor('hour', t_to)
     AND ('__all' = ANY (tenants) OR p.tenant = ANY (tenants))
  UNION ALL
  SELECT c.created_at, c.tenant, 1, (c.cache_status <> 'external')::int, (c.cache_status = 'hit')::int,
         (c.cost_usd * 10000000000)::bigint, (c.cost_usd IS NOT NULL)::int,
         COALESCE((c.cost_saved_usd * 10000000000)::bigint, 0),
         CASE WHEN c.cache_status = 'hit' THEN COALESCE((c.cost_saved_usd * 10000000000)::bigint, 0) ELSE 0 END,
         CASE WHEN c.cache_status IN ('idempotent_replay', 'coalesced') THEN COALESCE((c.cost_saved_usd * 10000000000)::bigint, 0) ELSE 0 END
    FROM openai_call_log c
   WHERE ((c.created_at >= t_from AND c.created_at < tollgate_ceil('hour', t_from) AND c.created_at <= t_to)
          OR (c.created_at >= greatest(tollgate_floor('hour', t_to), tollgate_ceil('hour', t_from))
              AND c.created_at <= t_to))
     AND ('__all' = ANY (tenants) OR c.tenant = ANY (tenants))
$$;

-- ----------------------------------------------------------------------------------------------
-- The Tenants call list (tenants_calls.sql) is one tenant's calls newest first, capped at 500, with
-- the filter bar applied. With only (tenant, created_at) to go by, a filter on a value the tenant
-- rarely has (an app user, a tag, a model) read the tenant's calls until 500 matched: all of a big
-- tenant's calls in range (1.4 M for 90 days in the bench, 0.3-2 s). Day partitions now also get:
--   (tenant, app_user, created_at) WHERE app_user IS NOT NULL
--                                  an app user's calls newest first; partial: calls without one
--                                  (NULL) are never looked up by it and cost nothing to insert.
--   (tenant, model, created_at)    a model's calls of the tenant, newest first. 021's
--                                  (tenant, endpoint, model, created_at) serves a model only with its
--                                  endpoint: without one it read the tenant's whole index range.
--   GIN (tags) WHERE tags IS NOT NULL
--                                  the calls carrying any of the selected tags (`tags && ARRAY[...]`),
--                                  a bitmap the planner intersects with the tenant's index when the
--                                  tag is common elsewhere. GIN's pending list (fastupdate) keeps
--                                  inserts cheap: entries are appended and merged in bulk.
-- Each index costs inserts a few percent (README, "The call log at scale": measured side by side);
-- together they are the cheapest way to make every filter of the list an index range, whatever the
-- number of calls. New partitions get them from tollgate_call_log_create_partition; partitions
-- that already hold rows get them from the proxy's partition maintenance, CREATE INDEX
-- CONCURRENTLY, one at a time (proxy/src/log/partitions.ts), so writers never wait for a build.
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
  EXECUTE format('CREATE INDEX %I ON %I (tenant, created_at)', name || '_tenant_idx', name);
  EXECUTE format('CREATE INDEX %I ON %I (tenant, endpoint, model, created_at)', name || '_tenant_model_idx', name);
  EXECUTE format('CREATE INDEX %I ON %I (tenant, app_user, created_at) WHERE app_user IS NOT NULL', name || '_app_user_idx', name);
  EXECUTE format('CREATE INDEX %I ON %I (tenant, model, created_at)', name || '_model_idx', name);
  EXECUTE format('CREATE INDEX %I ON %I USING gin (tags) WHERE tags IS NOT NULL', name || '_tags_idx', name);
  EXECUTE format('CREATE INDEX ON %I USING brin (created_at) WITH (pages_per_range = 16)', name);
  EXECUTE format('ALTER TABLE %I ADD CHECK (created_at >= %L AND created_at < %L)', name, lo, hi);
  EXECUTE format('WITH moved AS (DELETE FROM openai_call_log_default WHERE created_at >= %L AND created_at < %L RETURNING *)
                  INSERT INTO %I SELECT * FROM moved', lo, hi, name);
  EXECUTE format('ALTER TABLE openai_call_log ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
  RETURN true;
END
$$;

-- The partitions that hold no row yet (the days created ahead, the DEFAULT partition; all of them in
-- a new database) get the indexes here, as in 021: building one on an empty table is a catalog
-- change. Partitions with rows are indexed by the proxy, concurrently (the embedded PGlite too: it
-- runs CREATE INDEX CONCURRENTLY outside a transaction like a server).
DO $$
DECLARE
  p record;
  has_rows boolean;
BEGIN
  FOR p IN SELECT c.relname FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
            WHERE h.inhparent = 'openai_call_log'::regclass
              AND (c.relname LIKE 'openai\_call\_log\_p%' OR c.relname = 'openai_call_log_default') LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', p.relname) INTO has_rows;
    IF NOT has_rows THEN
      EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I (tenant, app_user, created_at) WHERE app_user IS NOT NULL',
                     p.relname || '_app_user_idx', p.relname);
      EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I (tenant, model, created_at)', p.relname || '_model_idx', p.relname);
      EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I USING gin (tags) WHERE tags IS NOT NULL', p.relname || '_tags_idx', p.relname);
    END IF;
  END LOOP;
END
$$;
