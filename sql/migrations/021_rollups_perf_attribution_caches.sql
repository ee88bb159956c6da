-- Fast paths for the panels that still read raw rows (issue 10, second part): the Performance page
-- (latency percentiles, error rates), the Tenants page (app users and tags), the Budget page and the
-- alert rules, and the persona cache and stored-response panels. Schema and functions only; the rows
-- already written are rolled up by 022.
--
--   call_log_pending/hourly/daily   + errors, rate_limited, aborted (the Performance page's rates,
--                                    over the proxy's calls). call_log_pending also keeps app_user and
--                                    tags now: its deltas are per (hour, endpoint, model, tenant,
--                                    app_user, tags), which the fold sums into both families below.
--   call_log_attr_hourly/daily      per (bucket, tenant, app_user, tags, endpoint, model): calls, cost,
--                                    savings, hits (call_log_attr_tenant_hourly/daily: the same
--                                    without endpoint and model). `tags` is the call's whole tag set (the proxy
--                                    stores it sorted and unique), so any tag selection
--                                    (`tags && ARRAY[...]`) is answered exactly, and a call with two
--                                    tags is one row, not two. Size: one row per combination seen in
--                                    the bucket, not per call (see README, "The call log at scale").
--   call_log_latency_pending/hourly/daily
--                                    latency histograms: per bucket and log-scale bin, how many proxy
--                                    calls had their latency, time to first byte (streams) and proxy
--                                    overhead (latency_ms - upstream_ms) in that bin. Percentiles are
--                                    read from them within 4.4 % (tollgate_percentiles below).
--                                    Hourly and daily rows for every tenant (tenant NULL), by
--                                    (endpoint, model) and for all of them together (endpoint, model
--                                    NULL); call_log_latency_tenant_daily per tenant, endpoint, model.
--   cache_entries_pending/hourly/daily
--                                    persona_cache and request_log rows per (bucket, tenant, model or
--                                    endpoint), kept by their own triggers (inserts, deletes on
--                                    expiry, and the updates that move created_at).
-- Every family is maintained like 011's: a trigger appends deltas in the writer's transaction (never
-- blocking, never failing where the row would not), tollgate_call_log_fold() moves them into the
-- rollups, and a *_facts() function reads daily rows for whole days, hourly rows for whole hours,
-- the deltas not folded yet and the raw rows of the partial hours: the same numbers as the raw rows.

-- A barrier for 022's backfill: this lock waits for the writers already inside a transaction (their
-- deltas are written by the old trigger functions) and holds new ones until this short transaction
-- commits. After it, every new row goes through the new functions, so 022's snapshot sees every row
-- written the old way. Only writers wait (readers do not), for the length of this migration: catalog
-- changes, except that adding columns to call_log_pending first waits for panel queries reading it
-- (milliseconds; at worst Grafana's 30 s statement timeout).
LOCK TABLE ONLY openai_call_log IN SHARE ROW EXCLUSIVE MODE;

-- Grafana's role never compiles queries: a panel's plan is costed over every partition before run-time
-- pruning leaves one or two, so PostgreSQL's JIT (jit_above_cost) would spend 100-500 ms compiling
-- queries that then run in milliseconds over the rollups.
ALTER ROLE tollgate_grafana SET jit = off;

-- ----------------------------------------------------------------------------------------------
-- Latency bins. Values 0..15 ms have a bin each (exact); above, 8 bins per doubling, so a bin spans
-- 9.05 % and its representative value (the geometric middle) is within 4.43 % of any value in it.
-- (16 bins per doubling, 2.2 %, doubled the rows a 90-day "by endpoint and model" read sums, past
-- 100 ms at 10 M calls.)
-- Negative values (an overhead where the upstream's clock ran over the proxy's) count as 0. BIGINT,
-- so no difference of two INT columns can overflow in a trigger (and fail the call-log insert).
CREATE OR REPLACE FUNCTION tollgate_latency_bin(ms bigint) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN ms IS NULL THEN NULL
              WHEN ms < 16 THEN greatest(ms, 0)
              ELSE 16 + floor(8 * ln(ms / 16.0::float8) / ln(2::float8)) END::smallint
$$;

CREATE OR REPLACE FUNCTION tollgate_latency_value(bin integer) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN bin < 16 THEN bin::float8 ELSE 16 * power(2::float8, (bin - 15.5) / 8) END
$$;

-- percentile_cont(q) of a histogram (bins ascending, their counts), for each q: the rank q * (n - 1)
-- interpolated between the two values around it, as percentile_cont does, each value read as its
-- bin's representative. NULL for an empty histogram (as percentile_cont over no rows). Counts are
-- NUMERIC, what SUM over the BIGINT rollup columns gives.
CREATE OR REPLACE FUNCTION tollgate_percentiles(bins smallint[], counts numeric[], qs float8[]) RETURNS float8[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n numeric := 0;
  res float8[] := '{}';
  q float8;
  h float8;
  lo bigint;
  x0 float8;
  x1 float8;
  cum numeric;
  i integer;
  len integer := coalesce(array_length(bins, 1), 0);
BEGIN
  FOR i IN 1 .. len LOOP
    n := n + counts[i];
  END LOOP;
  FOREACH q IN ARRAY qs LOOP
    IF n <= 0 THEN
      res := res || NULL::float8;
      CONTINUE;
    END IF;
    h := q * (n - 1);
    lo := floor(h);
    x0 := NULL;
    x1 := NULL;
    cum := 0;
    FOR i IN 1 .. len LOOP
      cum := cum + counts[i];
      IF x0 IS NULL AND cum > lo THEN
        x0 := tollgate_latency_value(bins[i]);
      END IF;
      IF cum > least(lo + 1, n - 1) THEN
        x1 := tollgate_latency_value(bins[i]);
        EXIT;
      END IF;
    END LOOP;
    res := res || (x0 + (h - lo) * (x1 - x0));
  END LOOP;
  RETURN res;
END
$$;

-- ----------------------------------------------------------------------------------------------
-- The call-log families.
ALTER TABLE call_log_pending ADD COLUMN IF NOT EXISTS errors BIGINT NOT NULL DEFAULT 0,
                             ADD COLUMN IF NOT EXISTS rate_limited BIGINT NOT NULL DEFAULT 0,
                             ADD COLUMN IF NOT EXISTS aborted BIGINT NOT NULL DEFAULT 0,
                             ADD COLUMN IF NOT EXISTS app_user TEXT,
                             ADD COLUMN IF NOT EXISTS tags TEXT[];
ALTER TABLE call_log_hourly ADD COLUMN IF NOT EXISTS errors BIGINT NOT NULL DEFAULT 0,
                            ADD COLUMN IF NOT EXISTS rate_limited BIGINT NOT NULL DEFAULT 0,
                            ADD COLUMN IF NOT EXISTS aborted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE call_log_daily ADD COLUMN IF NOT EXISTS errors BIGINT NOT NULL DEFAULT 0,
                           ADD COLUMN IF NOT EXISTS rate_limited BIGINT NOT NULL DEFAULT 0,
                           ADD COLUMN IF NOT EXISTS aborted BIGINT NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS call_log_attr_hourly (
  bucket         TIMESTAMPTZ NOT NULL,
  tenant         TEXT NOT NULL,
  app_user       TEXT,
  tags           TEXT[],
  endpoint       TEXT NOT NULL,
  model          TEXT NOT NULL,
  calls          BIGINT NOT NULL,
  calls_proxy    BIGINT NOT NULL,
  hits           BIGINT NOT NULL,
  cost_e10       BIGINT NOT NULL,
  cost_rows      BIGINT NOT NULL,
  saved_e10      BIGINT NOT NULL,
  saved_hit_e10  BIGINT NOT NULL,
  saved_idem_e10 BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS call_log_attr_hourly_key
  ON call_log_attr_hourly (tenant, bucket, app_user, tags, endpoint, model) NULLS NOT DISTINCT;
CREATE INDEX IF NOT EXISTS call_log_attr_hourly_bucket_idx ON call_log_attr_hourly (bucket);
CREATE TABLE IF NOT EXISTS call_log_attr_daily (LIKE call_log_attr_hourly);
CREATE UNIQUE INDEX IF NOT EXISTS call_log_attr_daily_key
  ON call_log_attr_daily (tenant, bucket, app_user, tags, endpoint, model) NULLS NOT DISTINCT;
CREATE INDEX IF NOT EXISTS call_log_attr_daily_bucket_idx ON call_log_attr_daily (bucket);
-- The same without endpoint and model, for the Tenants page with no endpoint or model selected (the
-- usual case): a third of the rows, as an app user calls a few models.
CREATE TABLE IF NOT EXISTS call_log_attr_tenant_hourly (LIKE call_log_attr_hourly);
ALTER TABLE call_log_attr_tenant_hourly DROP COLUMN endpoint, DROP COLUMN model;
CREATE UNIQUE INDEX IF NOT EXISTS call_log_attr_tenant_hourly_key
  ON call_log_attr_tenant_hourly (tenant, bucket, app_user, tags) NULLS NOT DISTINCT;
CREATE INDEX IF NOT EXISTS call_log_attr_tenant_hourly_bucket_idx ON call_log_attr_tenant_hourly (bucket);
CREATE TABLE IF NOT EXISTS call_log_attr_tenant_daily (LIKE call_log_attr_tenant_hourly);
CREATE UNIQUE INDEX IF NOT EXISTS call_log_attr_tenant_daily_key
  ON call_log_attr_tenant_daily (tenant, bucket, app_user, tags) NULLS NOT DISTINCT;
CREATE INDEX IF NOT EXISTS call_log_attr_tenant_daily_bucket_idx ON call_log_attr_tenant_daily (bucket);

CREATE TABLE IF NOT EXISTS call_log_latency_pending (
  bucket   TIMESTAMPTZ NOT NULL,
  endpoint TEXT NOT NULL,
  model    TEXT NOT NULL,
  tenant   TEXT NOT NULL,
  bin      SMALLINT NOT NULL,
  latency  BIGINT NOT NULL,
  ttfb     BIGINT NOT NULL,
  overhead BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS call_log_latency_hourly (
  bucket   TIMESTAMPTZ NOT NULL,
  endpoint TEXT,
  model    TEXT,
  tenant   TEXT,
  bin      SMALLINT NOT NULL,
  latency  BIGINT NOT NULL,
  ttfb     BIGINT NOT NULL,
  overhead BIGINT NOT NULL
);
-- Every-tenant rows only (tenant stays NULL here): keyed by (endpoint, model) first, so the overall
-- rows (both NULL) and one endpoint's rows are each one range of the index.
CREATE UNIQUE INDEX IF NOT EXISTS call_log_latency_hourly_key
  ON call_log_latency_hourly (endpoint, model, bucket, bin) NULLS NOT DISTINCT;
CREATE TABLE IF NOT EXISTS call_log_latency_daily (LIKE call_log_latency_hourly);
CREATE UNIQUE INDEX IF NOT EXISTS call_log_latency_daily_key
  ON call_log_latency_daily (endpoint, model, bucket, bin) NULLS NOT DISTINCT;
-- Every endpoint's rows in a range (by endpoint and model, the Performance table), read from the
-- index alone: histogram rows of many days interleave in the heap.
CREATE INDEX IF NOT EXISTS call_log_latency_hourly_bucket_idx
  ON call_log_latency_hourly (bucket) INCLUDE (endpoint, model, tenant, bin, latency, ttfb, overhead);
CREATE INDEX IF NOT EXISTS call_log_latency_daily_bucket_idx
  ON call_log_latency_daily (bucket) INCLUDE (endpoint, model, tenant, bin, latency, ttfb, overhead);
-- Per-tenant daily histograms in a table of their own: the every-tenant rows, which most panels
-- read, stay dense (a 90-day read touches a few thousand pages, not one page per row).
CREATE TABLE IF NOT EXISTS call_log_latency_tenant_daily (LIKE call_log_latency_hourly);
ALTER TABLE call_log_latency_tenant_daily ALTER COLUMN tenant SET NOT NULL, ALTER COLUMN endpoint SET NOT NULL,
                                          ALTER COLUMN model SET NOT NULL;
-- A tenant's rows are spread over every day's fold: the counts ride in the index, so a tenant's
-- 90 days are one index range, not a heap page per row.
CREATE UNIQUE INDEX IF NOT EXISTS call_log_latency_tenant_daily_key
  ON call_log_latency_tenant_daily (tenant, bucket, endpoint, model, bin) INCLUDE (latency, ttfb, overhead);

GRANT SELECT ON call_log_attr_hourly, call_log_attr_daily, call_log_attr_tenant_hourly, call_log_attr_tenant_daily,
                call_log_latency_pending, call_log_latency_hourly,
                call_log_latency_daily, call_log_latency_tenant_daily TO tollgate_grafana;

-- The three trigger functions of 011, one text: the signed rows of the statement (`d`: +1 inserted,
-- -1 deleted, both for an update) summed into call_log_pending and call_log_latency_pending.
-- Replaced in this transaction, under the lock above, so no row is written by half of them.
DO $do$
DECLARE
  f record;
BEGIN
  FOR f IN SELECT * FROM (VALUES
      ('tollgate_call_log_delta_ins', 'SELECT 1 AS s, * FROM new_rows'),
      ('tollgate_call_log_delta_del', 'SELECT -1 AS s, * FROM old_rows'),
      ('tollgate_call_log_delta_upd', 'SELECT -1 AS s, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows')) AS v (name, source)
  LOOP
    EXECUTE format($f$
      CREATE OR REPLACE FUNCTION %I() RETURNS trigger
      LANGUAGE plpgsql AS $body$
      BEGIN
        INSERT INTO call_log_pending (bucket, endpoint, model, tenant, app_user, tags, calls, calls_proxy, hits, replays,
          coalesced, cost, cost_rows, saved, saved_hit, saved_hit_rows, saved_replay, saved_replay_rows, saved_coal,
          saved_coal_rows, tokens_prompt, tokens_completion, errors, rate_limited, aborted)
        SELECT tollgate_floor('hour', created_at), endpoint, model, tenant, app_user, tags,
               sum(s), COALESCE(sum(s) FILTER (WHERE cache_status <> 'external'), 0),
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
               COALESCE(sum(s * tokens_prompt), 0), COALESCE(sum(s * tokens_completion), 0),
               COALESCE(sum(s) FILTER (WHERE cache_status <> 'external' AND status_code >= 400 AND NOT client_aborted), 0),
               COALESCE(sum(s) FILTER (WHERE cache_status <> 'external' AND status_code = 429), 0),
               COALESCE(sum(s) FILTER (WHERE cache_status <> 'external' AND client_aborted), 0)
          FROM (%s) d
         GROUP BY 1, 2, 3, 4, 5, 6;
        INSERT INTO call_log_latency_pending (bucket, endpoint, model, tenant, bin, latency, ttfb, overhead)
        SELECT tollgate_floor('hour', d.created_at), d.endpoint, d.model, d.tenant, b.bin,
               COALESCE(sum(d.s) FILTER (WHERE b.metric = 1), 0), COALESCE(sum(d.s) FILTER (WHERE b.metric = 2), 0),
               COALESCE(sum(d.s) FILTER (WHERE b.metric = 3), 0)
          FROM (%s) d
         CROSS JOIN LATERAL (VALUES (1, tollgate_latency_bin(d.latency_ms)),
                                    (2, CASE WHEN d.stream THEN tollgate_latency_bin(d.ttfb_ms) END),
                                    (3, tollgate_latency_bin(d.latency_ms::bigint - d.upstream_ms))) AS b (metric, bin)
         WHERE d.cache_status <> 'external' AND b.bin IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5;
        RETURN NULL;
      END
      $body$$f$, f.name, f.source, f.source);
  END LOOP;
END
$do$;

-- TRUNCATE of the whole log empties everything derived from it.
CREATE OR REPLACE FUNCTION tollgate_call_log_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE call_log_pending, call_log_hourly, call_log_daily, call_log_attr_hourly, call_log_attr_daily,
           call_log_attr_tenant_hourly, call_log_attr_tenant_daily,
           call_log_latency_pending, call_log_latency_hourly, call_log_latency_daily, call_log_latency_tenant_daily;
  RETURN NULL;
END
$$;

-- ----------------------------------------------------------------------------------------------
-- Persona cache entries and stored responses (request_log) per bucket, tenant and model (persona)
-- or endpoint (stored). Entries are deleted on expiry and re-created (created_at moves) on refresh;
-- the panels count the rows that exist, so deletes and those updates are deltas too. Updates of
-- other columns (hit counts, replay counts, states) fire nothing: the row-level trigger's WHEN
-- is checked before any function is called.
CREATE TABLE IF NOT EXISTS cache_entries_pending (
  kind    TEXT NOT NULL CHECK (kind IN ('persona', 'stored')),
  bucket  TIMESTAMPTZ NOT NULL,
  tenant  TEXT NOT NULL,
  dim     TEXT NOT NULL,
  entries BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS cache_entries_hourly (LIKE cache_entries_pending INCLUDING CONSTRAINTS);
CREATE UNIQUE INDEX IF NOT EXISTS cache_entries_hourly_key ON cache_entries_hourly (kind, bucket, tenant, dim);
CREATE TABLE IF NOT EXISTS cache_entries_daily (LIKE cache_entries_pending INCLUDING CONSTRAINTS);
CREATE UNIQUE INDEX IF NOT EXISTS cache_entries_daily_key ON cache_entries_daily (kind, bucket, tenant, dim);
GRANT SELECT ON cache_entries_pending, cache_entries_hourly, cache_entries_daily TO tollgate_grafana;

DO $do$
DECLARE
  f record;
BEGIN
  FOR f IN SELECT * FROM (VALUES
      ('tollgate_persona_delta_ins', 'persona', 'model', 'SELECT 1 AS s, * FROM new_rows'),
      ('tollgate_persona_delta_del', 'persona', 'model', 'SELECT -1 AS s, * FROM old_rows'),
      ('tollgate_stored_delta_ins', 'stored', 'endpoint', 'SELECT 1 AS s, * FROM new_rows'),
      ('tollgate_stored_delta_del', 'stored', 'endpoint', 'SELECT -1 AS s, * FROM old_rows')) AS v (name, kind, dim, source)
  LOOP
    EXECUTE format($f$
      CREATE OR REPLACE FUNCTION %I() RETURNS trigger
      LANGUAGE plpgsql AS $body$
      BEGIN
        INSERT INTO cache_entries_pending (kind, bucket, tenant, dim, entries)
        SELECT %L, tollgate_floor('hour', created_at), tenant, %I, sum(s) FROM (%s) d GROUP BY 2, 3, 4;
        RETURN NULL;
      END
      $body$$f$, f.name, f.kind, f.dim, f.source);
  END LOOP;
END
$do$;

CREATE OR REPLACE FUNCTION tollgate_persona_delta_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cache_entries_pending (kind, bucket, tenant, dim, entries)
  VALUES ('persona', tollgate_floor('hour', OLD.created_at), OLD.tenant, OLD.model, -1),
         ('persona', tollgate_floor('hour', NEW.created_at), NEW.tenant, NEW.model, 1);
  RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION tollgate_stored_delta_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cache_entries_pending (kind, bucket, tenant, dim, entries)
  VALUES ('stored', tollgate_floor('hour', OLD.created_at), OLD.tenant, OLD.endpoint, -1),
         ('stored', tollgate_floor('hour', NEW.created_at), NEW.tenant, NEW.endpoint, 1);
  RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION tollgate_cache_entries_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  k text := CASE TG_TABLE_NAME WHEN 'persona_cache' THEN 'persona' ELSE 'stored' END;
BEGIN
  DELETE FROM cache_entries_pending WHERE kind = k;
  DELETE FROM cache_entries_hourly WHERE kind = k;
  DELETE FROM cache_entries_daily WHERE kind = k;
  RETURN NULL;
END
$$;

-- CREATE TRIGGER takes SHARE ROW EXCLUSIVE on the table: the same barrier as above, for 022.
DROP TRIGGER IF EXISTS cache_entries_ins ON persona_cache;
DROP TRIGGER IF EXISTS cache_entries_del ON persona_cache;
DROP TRIGGER IF EXISTS cache_entries_move ON persona_cache;
DROP TRIGGER IF EXISTS cache_entries_truncate ON persona_cache;
CREATE TRIGGER cache_entries_ins AFTER INSERT ON persona_cache REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_persona_delta_ins();
CREATE TRIGGER cache_entries_del AFTER DELETE ON persona_cache REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_persona_delta_del();
CREATE TRIGGER cache_entries_move AFTER UPDATE OF created_at, tenant, model ON persona_cache FOR EACH ROW
  WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.tenant IS DISTINCT FROM NEW.tenant OR OLD.model IS DISTINCT FROM NEW.model)
  EXECUTE FUNCTION tollgate_persona_delta_move();
CREATE TRIGGER cache_entries_truncate AFTER TRUNCATE ON persona_cache
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_cache_entries_truncate();
DROP TRIGGER IF EXISTS cache_entries_ins ON request_log;
DROP TRIGGER IF EXISTS cache_entries_del ON request_log;
DROP TRIGGER IF EXISTS cache_entries_move ON request_log;
DROP TRIGGER IF EXISTS cache_entries_truncate ON request_log;
CREATE TRIGGER cache_entries_ins AFTER INSERT ON request_log REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_stored_delta_ins();
CREATE TRIGGER cache_entries_del AFTER DELETE ON request_log REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_stored_delta_del();
CREATE TRIGGER cache_entries_move AFTER UPDATE OF created_at, tenant, endpoint ON request_log FOR EACH ROW
  WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.tenant IS DISTINCT FROM NEW.tenant OR OLD.endpoint IS DISTINCT FROM NEW.endpoint)
  EXECUTE FUNCTION tollgate_stored_delta_move();
CREATE TRIGGER cache_entries_truncate AFTER TRUNCATE ON request_log
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_cache_entries_truncate();

-- ----------------------------------------------------------------------------------------------
-- The fold (011's, extended): the call-log deltas into the hourly and daily rollups and the
-- attribution rollups, the latency deltas into the histograms, the cache-entry deltas into theirs.
-- One transaction, one replica at a time; a failure leaves every delta pending. A new temporary
-- table name: sessions that ran 011's fold keep a temporary table of the old shape.
CREATE OR REPLACE FUNCTION tollgate_call_log_fold(max_rows integer DEFAULT 100000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  folded bigint;
  n bigint;
  unit text;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7346221002) THEN
    RETURN 0;
  END IF;
  CREATE TEMP TABLE IF NOT EXISTS tollgate_fold_v2 (LIKE call_log_pending) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS tollgate_fold_latency (LIKE call_log_latency_pending) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS tollgate_fold_entries (LIKE cache_entries_pending) ON COMMIT DELETE ROWS;
  TRUNCATE pg_temp.tollgate_fold_v2, pg_temp.tollgate_fold_latency, pg_temp.tollgate_fold_entries;

  WITH moved AS (
    DELETE FROM call_log_pending p
     WHERE p.ctid = ANY (ARRAY(SELECT ctid FROM call_log_pending LIMIT max_rows))
    RETURNING p.*
  )
  INSERT INTO pg_temp.tollgate_fold_v2 SELECT * FROM moved;
  GET DIAGNOSTICS folded = ROW_COUNT;
  WITH moved AS (
    DELETE FROM call_log_latency_pending p
     WHERE p.ctid = ANY (ARRAY(SELECT ctid FROM call_log_latency_pending LIMIT max_rows))
    RETURNING p.*
  )
  INSERT INTO pg_temp.tollgate_fold_latency SELECT * FROM moved;
  GET DIAGNOSTICS n = ROW_COUNT;
  folded := greatest(folded, n);
  WITH moved AS (
    DELETE FROM cache_entries_pending p
     WHERE p.ctid = ANY (ARRAY(SELECT ctid FROM cache_entries_pending LIMIT max_rows))
    RETURNING p.*
  )
  INSERT INTO pg_temp.tollgate_fold_entries SELECT * FROM moved;
  GET DIAGNOSTICS n = ROW_COUNT;
  folded := greatest(folded, n);

  FOREACH unit IN ARRAY ARRAY['hour', 'day'] LOOP
    -- Each delta to its tenant's row and to the "every tenant" row (tenant NULL).
    EXECUTE format($f$
      INSERT INTO %I AS r (bucket, endpoint, model, tenant, calls, calls_proxy, hits, replays, coalesced, cost_e10,
                           cost_rows, saved_e10, saved_hit_e10, saved_hit_rows, saved_replay_e10, saved_replay_rows,
                           saved_coal_e10, saved_coal_rows, tokens_prompt, tokens_completion, errors, rate_limited, aborted)
      SELECT tollgate_floor(%L, f.bucket), f.endpoint, f.model, t.tenant,
             sum(calls), sum(calls_proxy), sum(hits), sum(replays), sum(coalesced),
             (sum(cost) * 10000000000)::bigint, sum(cost_rows), (sum(saved) * 10000000000)::bigint,
             (sum(saved_hit) * 10000000000)::bigint, sum(saved_hit_rows),
             (sum(saved_replay) * 10000000000)::bigint, sum(saved_replay_rows),
             (sum(saved_coal) * 10000000000)::bigint, sum(saved_coal_rows),
             sum(tokens_prompt), sum(tokens_completion), sum(errors), sum(rate_limited), sum(aborted)
        FROM pg_temp.tollgate_fold_v2 f CROSS JOIN LATERAL (VALUES (f.tenant), (NULL)) AS t (tenant)
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
        tokens_completion = r.tokens_completion + EXCLUDED.tokens_completion,
        errors = r.errors + EXCLUDED.errors, rate_limited = r.rate_limited + EXCLUDED.rate_limited,
        aborted = r.aborted + EXCLUDED.aborted
      $f$, CASE unit WHEN 'hour' THEN 'call_log_hourly' ELSE 'call_log_daily' END, unit);

    EXECUTE format($f$
      INSERT INTO %I AS r (bucket, tenant, app_user, tags, endpoint, model, calls, calls_proxy, hits, cost_e10, cost_rows,
                           saved_e10, saved_hit_e10, saved_idem_e10)
      SELECT tollgate_floor(%L, f.bucket), f.tenant, f.app_user, f.tags, f.endpoint, f.model,
             sum(calls), sum(calls_proxy), sum(hits), (sum(cost) * 10000000000)::bigint, sum(cost_rows),
             (sum(saved) * 10000000000)::bigint, (sum(saved_hit) * 10000000000)::bigint,
             ((sum(saved_replay) + sum(saved_coal)) * 10000000000)::bigint
        FROM pg_temp.tollgate_fold_v2 f
       GROUP BY 1, 2, 3, 4, 5, 6
      ON CONFLICT (tenant, bucket, app_user, tags, endpoint, model) DO UPDATE SET
        calls = r.calls + EXCLUDED.calls, calls_proxy = r.calls_proxy + EXCLUDED.calls_proxy, hits = r.hits + EXCLUDED.hits,
        cost_e10 = r.cost_e10 + EXCLUDED.cost_e10, cost_rows = r.cost_rows + EXCLUDED.cost_rows,
        saved_e10 = r.saved_e10 + EXCLUDED.saved_e10, saved_hit_e10 = r.saved_hit_e10 + EXCLUDED.saved_hit_e10,
        saved_idem_e10 = r.saved_idem_e10 + EXCLUDED.saved_idem_e10
      $f$, CASE unit WHEN 'hour' THEN 'call_log_attr_hourly' ELSE 'call_log_attr_daily' END, unit);
    EXECUTE format($f$
      INSERT INTO %I AS r (bucket, tenant, app_user, tags, calls, calls_proxy, hits, cost_e10, cost_rows,
                           saved_e10, saved_hit_e10, saved_idem_e10)
      SELECT tollgate_floor(%L, f.bucket), f.tenant, f.app_user, f.tags,
             sum(calls), sum(calls_proxy), sum(hits), (sum(cost) * 10000000000)::bigint, sum(cost_rows),
             (sum(saved) * 10000000000)::bigint, (sum(saved_hit) * 10000000000)::bigint,
             ((sum(saved_replay) + sum(saved_coal)) * 10000000000)::bigint
        FROM pg_temp.tollgate_fold_v2 f
       GROUP BY 1, 2, 3, 4
      ON CONFLICT (tenant, bucket, app_user, tags) DO UPDATE SET
        calls = r.calls + EXCLUDED.calls, calls_proxy = r.calls_proxy + EXCLUDED.calls_proxy, hits = r.hits + EXCLUDED.hits,
        cost_e10 = r.cost_e10 + EXCLUDED.cost_e10, cost_rows = r.cost_rows + EXCLUDED.cost_rows,
        saved_e10 = r.saved_e10 + EXCLUDED.saved_e10, saved_hit_e10 = r.saved_hit_e10 + EXCLUDED.saved_hit_e10,
        saved_idem_e10 = r.saved_idem_e10 + EXCLUDED.saved_idem_e10
      $f$, CASE unit WHEN 'hour' THEN 'call_log_attr_tenant_hourly' ELSE 'call_log_attr_tenant_daily' END, unit);

    -- Histograms for every tenant, by (endpoint, model) and overall.
    EXECUTE format($f$
      INSERT INTO %I AS r (bucket, endpoint, model, tenant, bin, latency, ttfb, overhead)
      SELECT tollgate_floor(%L, f.bucket), k.endpoint, k.model, NULL, f.bin, sum(f.latency), sum(f.ttfb), sum(f.overhead)
        FROM pg_temp.tollgate_fold_latency f
       CROSS JOIN LATERAL (VALUES (f.endpoint, f.model), (NULL, NULL)) AS k (endpoint, model)
       GROUP BY 1, 2, 3, 5
      ON CONFLICT (endpoint, model, bucket, bin) DO UPDATE SET
        latency = r.latency + EXCLUDED.latency, ttfb = r.ttfb + EXCLUDED.ttfb, overhead = r.overhead + EXCLUDED.overhead
      $f$, CASE unit WHEN 'hour' THEN 'call_log_latency_hourly' ELSE 'call_log_latency_daily' END, unit);

    EXECUTE format($f$
      INSERT INTO %I AS r (kind, bucket, tenant, dim, entries)
      SELECT kind, tollgate_floor(%L, bucket), tenant, dim, sum(entries)
        FROM pg_temp.tollgate_fold_entries
       GROUP BY 1, 2, 3, 4
      ON CONFLICT (kind, bucket, tenant, dim) DO UPDATE SET entries = r.entries + EXCLUDED.entries
      $f$, CASE unit WHEN 'hour' THEN 'cache_entries_hourly' ELSE 'cache_entries_daily' END, unit);
  END LOOP;
  INSERT INTO call_log_latency_tenant_daily AS r (bucket, endpoint, model, tenant, bin, latency, ttfb, overhead)
  SELECT tollgate_floor('day', f.bucket), f.endpoint, f.model, f.tenant, f.bin, sum(f.latency), sum(f.ttfb), sum(f.overhead)
    FROM pg_temp.tollgate_fold_latency f
   GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (tenant, bucket, endpoint, model, bin) DO UPDATE SET
    latency = r.latency + EXCLUDED.latency, ttfb = r.ttfb + EXCLUDED.ttfb, overhead = r.overhead + EXCLUDED.overhead;
  RETURN folded;
END
$$;

-- ----------------------------------------------------------------------------------------------
-- call_log_facts (011) with the error counts, and a grain: 'day' (the default) reads daily rows for
-- the whole UTC days of the range, 'hour' never does (for a panel that groups by hour). Same
-- sources otherwise, same exactness. The hourly rows outside the whole days are now written as two
-- ranges (011's NOT (...) made the index scan read every hour of the range and drop those inside
-- the whole days: 2,000 hours of rows for a 90-day range); the *_facts functions below do the same.
DROP FUNCTION IF EXISTS call_log_facts(timestamptz, timestamptz, text[], text[], text[]);
CREATE FUNCTION call_log_facts(t_from timestamptz, t_to timestamptz,
                               endpoints text[], models text[], tenants text[], grain text DEFAULT 'day')
RETURNS TABLE (
  bucket timestamptz, endpoint text, model text, tenant text,
  calls bigint, calls_proxy bigint, hits bigint, replays bigint, coalesced bigint,
  cost_e10 bigint, saved_e10 bigint, saved_hit_e10 bigint, saved_replay_e10 bigint, saved_coal_e10 bigint,
  tokens_prompt bigint, tokens_completion bigint,
  cost_rows bigint, saved_hit_rows bigint, saved_replay_rows bigint, saved_coal_rows bigint,
  errors bigint, rate_limited bigint, aborted bigint
)
LANGUAGE sql STABLE AS $$
  SELECT r.bucket, r.endpoint, r.model, r.tenant, r.calls, r.calls_proxy, r.hits, r.replays, r.coalesced,
         CASE WHEN r.cost_rows <> 0 THEN r.cost_e10 END, r.saved_e10,
         CASE WHEN r.saved_hit_rows <> 0 THEN r.saved_hit_e10 END,
         CASE WHEN r.saved_replay_rows <> 0 THEN r.saved_replay_e10 END,
         CASE WHEN r.saved_coal_rows <> 0 THEN r.saved_coal_e10 END,
         r.tokens_prompt, r.tokens_completion, r.cost_rows, r.saved_hit_rows, r.saved_replay_rows, r.saved_coal_rows,
         r.errors, r.rate_limited, r.aborted
    FROM (SELECT bucket, endpoint, model, tenant, calls, calls_proxy, hits, replays, coalesced, cost_e10, cost_rows,
                 saved_e10, saved_hit_e10, saved_hit_rows, saved_replay_e10, saved_replay_rows, saved_coal_e10,
                 saved_coal_rows, tokens_prompt, tokens_completion, errors, rate_limited, aborted
            FROM call_log_daily
           WHERE grain = 'day' AND bucket >= tollgate_ceil('day', t_from) AND bucket < tollgate_floor('day', t_to)
          UNION ALL
          SELECT bucket, endpoint, model, tenant, calls, calls_proxy, hits, replays, coalesced, cost_e10, cost_rows,
                 saved_e10, saved_hit_e10, saved_hit_rows, saved_replay_e10, saved_replay_rows, saved_coal_e10,
                 saved_coal_rows, tokens_prompt, tokens_completion, errors, rate_limited, aborted
            FROM call_log_hourly
           WHERE TRUE
             AND ((bucket >= tollgate_ceil('hour', t_from)
                   AND bucket < CASE WHEN grain = 'day' AND tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
                                     THEN tollgate_ceil('day', t_from) ELSE tollgate_floor('hour', t_to) END)
                  OR (grain = 'day' AND tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
                      AND bucket >= tollgate_floor('day', t_to) AND bucket < tollgate_floor('hour', t_to)))) r
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
         p.tokens_prompt, p.tokens_completion, p.cost_rows, p.saved_hit_rows, p.saved_replay_rows, p.saved_coal_rows,
         p.errors, p.rate_limited, p.aborted
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
         (c.cache_status = 'coalesced' AND c.cost_saved_usd IS NOT NULL)::int,
         (c.cache_status <> 'external' AND c.status_code >= 400 AND NOT c.client_aborted)::int,
         (c.cache_status <> 'external' AND c.status_code = 429)::int,
         (c.cache_status <> 'external' AND c.client_aborted)::int
    FROM openai_call_log c
   WHERE ((c.created_at >= t_from AND c.created_at < tollgate_ceil('hour', t_from) AND c.created_at <= t_to)
          OR (c.created_at >= greatest(tollgate_floor('hour', t_to), tollgate_ceil('hour', t_from))
              AND c.created_at <= t_to))
     AND ('__all' = ANY (endpoints) OR c.endpoint = ANY (endpoints))
     AND ('__all' = ANY (models) OR c.model = ANY (models))
     AND ('__all' = ANY (tenants) OR '__each' = ANY (tenants) OR c.tenant = ANY (tenants))
$$;

-- The Tenants page's facts: per (bucket, tenant, app_user, tags, endpoint, model), with the filter
-- bar's five selections ('__all': no filter; a tag selection matches calls carrying any of the
-- tags). Sources as call_log_facts; with no endpoint or model selected, the rollup rows are those
-- without endpoint and model (NULL in them). cost_e10 is NULL where only unpriced calls are summed.
CREATE OR REPLACE FUNCTION call_log_attr_facts(t_from timestamptz, t_to timestamptz, endpoints text[], models text[],
                                               tenants text[], app_users text[], tag_sel text[])
RETURNS TABLE (
  bucket timestamptz, tenant text, app_user text, tags text[], endpoint text, model text,
  calls bigint, calls_proxy bigint, hits bigint, cost_e10 bigint, cost_rows bigint, saved_e10 bigint,
  saved_hit_e10 bigint, saved_idem_e10 bigint
)
LANGUAGE sql STABLE AS $$
  SELECT r.bucket, r.tenant, r.app_user, r.tags, r.endpoint, r.model, r.calls, r.calls_proxy, r.hits,
         CASE WHEN r.cost_rows <> 0 THEN r.cost_e10 END, r.cost_rows, r.saved_e10, r.saved_hit_e10, r.saved_idem_e10
    FROM (SELECT * FROM call_log_attr_daily
           WHERE NOT ('__all' = ANY (endpoints) AND '__all' = ANY (models))
             AND bucket >= tollgate_ceil('day', t_from) AND bucket < tollgate_floor('day', t_to)
          UNION ALL
          SELECT * FROM call_log_attr_hourly
           WHERE NOT ('__all' = ANY (endpoints) AND '__all' = ANY (models))
             AND ((bucket >= tollgate_ceil('hour', t_from)
                   AND bucket < CASE WHEN tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
                                     THEN tollgate_ceil('day', t_from) ELSE tollgate_floor('hour', t_to) END)
                  OR (tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
                      AND bucket >= tollgate_floor('day', t_to) AND bucket < tollgate_floor('hour', t_to)))
          UNION ALL
          -- No endpoint or model selected: the rows without them (endpoint and model NULL).
          SELECT bucket, tenant, app_user, tags, NULL, NULL, calls, calls_proxy, hits, cost_e10, cost_rows, saved_e10,
                 saved_hit_e10, saved_idem_e10
            FROM call_log_attr_tenant_daily
           WHERE '__all' = ANY (endpoints) AND '__all' = ANY (models)
             AND bucket >= tollgate_ceil('day', t_from) AND bucket < tollgate_floor('day', t_to)
          UNION ALL
          SELECT bucket, tenant, app_user, tags, NULL, NULL, calls, calls_proxy, hits, cost_e10, cost_rows, saved_e10,
                 saved_hit_e10, saved_idem_e10
            FROM call_log_attr_tenant_hourly
           WHERE '__all' = ANY (endpoints) AND '__all' = ANY (models)
             AND ((bucket >= tollgate_ceil('hour', t_from)
                   AND bucket < CASE WHEN tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
                                     THEN tollgate_ceil('day', t_from) ELSE tollgate_floor('hour', t_to) END)
                  OR (tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
                      AND bucket >= tollgate_floor('day', t_to) AND bucket < tollgate_floor('hour', t_to)))) r
   WHERE r.calls <> 0
     AND ('__all' = ANY (endpoints) OR r.endpoint = ANY (endpoints))
     AND ('__all' = ANY (models) OR r.model = ANY (models))
     AND ('__all' = ANY (tenants) OR r.tenant = ANY (tenants))
     AND ('__all' = ANY (app_users) OR r.app_user = ANY (app_users))
     AND ('__all' = ANY (tag_sel) OR r.tags && tag_sel)
  UNION ALL
  SELECT p.bucket, p.tenant, p.app_user, p.tags, p.endpoint, p.model, p.calls, p.calls_proxy, p.hits,
         CASE WHEN p.cost_rows <> 0 THEN (p.cost * 10000000000)::bigint END, p.cost_rows,
         (p.saved * 10000000000)::bigint, (p.saved_hit * 10000000000)::bigint,
         ((p.saved_replay + p.saved_coal) * 10000000000)::bigint
    FROM call_log_pending p
   WHERE p.bucket >= tollgate_ceil('hour', t_from) AND p.bucket < tollgate_floor('hour', t_to)
     AND ('__all' = ANY (endpoints) OR p.endpoint = ANY (endpoints))
     AND ('__all' = ANY (models) OR p.model = ANY (models))
     AND ('__all' = ANY (tenants) OR p.tenant = ANY (tenants))
     AND ('__all' = ANY (app_users) OR p.app_user = ANY (app_users))
     AND ('__all' = ANY (tag_sel) OR p.tags && tag_sel)
  UNION ALL
  SELECT c.created_at, c.tenant, c.app_user, c.tags, c.endpoint, c.model, 1, (c.cache_status <> 'external')::int,
         (c.cache_status = 'hit')::int, (c.cost_usd * 10000000000)::bigint, (c.cost_usd IS NOT NULL)::int,
         COALESCE((c.cost_saved_usd * 10000000000)::bigint, 0),
         CASE WHEN c.cache_status = 'hit' THEN COALESCE((c.cost_saved_usd * 10000000000)::bigint, 0) ELSE 0 END,
         CASE WHEN c.cache_status IN ('idempotent_replay', 'coalesced') THEN COALESCE((c.cost_saved_usd * 10000000000)::bigint, 0) ELSE 0 END
    FROM openai_call_log c
   WHERE ((c.created_at >= t_from AND c.created_at < tollgate_ceil('hour', t_from) AND c.created_at <= t_to)
          OR (c.created_at >= greatest(tollgate_floor('hour', t_to), tollgate_ceil('hour', t_from))
              AND c.created_at <= t_to))
     AND ('__all' = ANY (endpoints) OR c.endpoint = ANY (endpoints))
     AND ('__all' = ANY (models) OR c.model = ANY (models))
     AND ('__all' = ANY (tenants) OR c.tenant = ANY (tenants))
     AND ('__all' = ANY (app_users) OR c.app_user = ANY (app_users))
     AND ('__all' = ANY (tag_sel) OR c.tags && tag_sel)
$$;

-- The Performance page's histograms for [t_from, t_to] and the filter bar. grain 'day' reads daily
-- rows for the whole UTC days of the range (a panel then groups by day); 'hour' never does (a panel
-- groups by hour). by_model: rows keep their endpoint and model; otherwise, with no endpoint, model
-- or tenant selected, the "all endpoints and models" rows are read (endpoint and model NULL).
-- Sources, for the tenant "All":  D daily (whole days), H hourly (other whole hours), P deltas not
-- folded (whole hours), R raw rows (partial hours). With tenants selected (hourly rows are for every
-- tenant only): D daily, P deltas of the hours of D, R raw rows of everything else in the range.
CREATE OR REPLACE FUNCTION call_log_latency_facts(t_from timestamptz, t_to timestamptz, endpoints text[], models text[],
                                                  tenants text[], grain text, by_model boolean)
RETURNS TABLE (bucket timestamptz, endpoint text, model text, bin smallint, latency bigint, ttfb bigint, overhead bigint)
LANGUAGE sql STABLE AS $$
  SELECT r.bucket, r.endpoint, r.model, r.bin, r.latency, r.ttfb, r.overhead
    FROM (SELECT * FROM call_log_latency_daily
           WHERE grain = 'day' AND '__all' = ANY (tenants)
             AND bucket >= tollgate_ceil('day', t_from) AND bucket < tollgate_floor('day', t_to)
          UNION ALL
          SELECT * FROM call_log_latency_tenant_daily
           WHERE grain = 'day' AND NOT '__all' = ANY (tenants) AND tenant = ANY (tenants)
             AND bucket >= tollgate_ceil('day', t_from) AND bucket < tollgate_floor('day', t_to)
          UNION ALL
          -- the two ranges as two scans, each read from the bucket index alone
          SELECT * FROM call_log_latency_hourly
           WHERE '__all' = ANY (tenants)
             AND bucket >= tollgate_ceil('hour', t_from)
             AND bucket < CASE WHEN grain = 'day' AND tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
                               THEN tollgate_ceil('day', t_from) ELSE tollgate_floor('hour', t_to) END
          UNION ALL
          SELECT * FROM call_log_latency_hourly
           WHERE '__all' = ANY (tenants) AND grain = 'day' AND tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
             AND bucket >= tollgate_floor('day', t_to) AND bucket < tollgate_floor('hour', t_to)) r
   WHERE CASE WHEN NOT '__all' = ANY (tenants)
                THEN r.tenant = ANY (tenants) AND r.endpoint IS NOT NULL
              WHEN by_model OR NOT '__all' = ANY (endpoints) OR NOT '__all' = ANY (models)
                THEN r.tenant IS NULL AND r.endpoint IS NOT NULL
              ELSE r.tenant IS NULL AND r.endpoint IS NULL END
     AND ('__all' = ANY (endpoints) OR r.endpoint = ANY (endpoints))
     AND ('__all' = ANY (models) OR r.model = ANY (models))
  UNION ALL
  SELECT p.bucket, p.endpoint, p.model, p.bin, p.latency, p.ttfb, p.overhead
    FROM call_log_latency_pending p
   WHERE CASE WHEN '__all' = ANY (tenants)
                THEN p.bucket >= tollgate_ceil('hour', t_from) AND p.bucket < tollgate_floor('hour', t_to)
              ELSE grain = 'day' AND p.bucket >= tollgate_ceil('day', t_from) AND p.bucket < tollgate_floor('day', t_to)
                   AND p.tenant = ANY (tenants) END
     AND ('__all' = ANY (endpoints) OR p.endpoint = ANY (endpoints))
     AND ('__all' = ANY (models) OR p.model = ANY (models))
  UNION ALL
  SELECT c.created_at, c.endpoint, c.model, b.bin, (b.metric = 1)::int, (b.metric = 2)::int, (b.metric = 3)::int
    FROM openai_call_log c
   CROSS JOIN LATERAL (VALUES (1, tollgate_latency_bin(c.latency_ms)),
                              (2, CASE WHEN c.stream THEN tollgate_latency_bin(c.ttfb_ms) END),
                              (3, tollgate_latency_bin(c.latency_ms::bigint - c.upstream_ms))) AS b (metric, bin)
   WHERE b.bin IS NOT NULL AND c.cache_status <> 'external'
     AND CASE WHEN '__all' = ANY (tenants)
                THEN (c.created_at >= t_from AND c.created_at < tollgate_ceil('hour', t_from) AND c.created_at <= t_to)
                  OR (c.created_at >= greatest(tollgate_floor('hour', t_to), tollgate_ceil('hour', t_from)) AND c.created_at <= t_to)
              WHEN grain = 'day' AND tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
                THEN c.tenant = ANY (tenants)
                 AND ((c.created_at >= t_from AND c.created_at < tollgate_ceil('day', t_from))
                      OR (c.created_at >= tollgate_floor('day', t_to) AND c.created_at <= t_to))
              ELSE c.tenant = ANY (tenants) AND c.created_at >= t_from AND c.created_at <= t_to END
     AND ('__all' = ANY (endpoints) OR c.endpoint = ANY (endpoints))
     AND ('__all' = ANY (models) OR c.model = ANY (models))
$$;

-- Persona cache entries ('persona', dims: models) or stored responses ('stored', dims: endpoints)
-- created in [t_from, t_to] that still exist, per bucket, tenant and dim. Sources as call_log_facts.
CREATE OR REPLACE FUNCTION cache_entries_facts(k text, t_from timestamptz, t_to timestamptz, dims text[], tenants text[])
RETURNS TABLE (bucket timestamptz, tenant text, dim text, entries bigint)
LANGUAGE sql STABLE AS $$
  SELECT r.bucket, r.tenant, r.dim, r.entries
    FROM (SELECT * FROM cache_entries_daily
           WHERE kind = k AND bucket >= tollgate_ceil('day', t_from) AND bucket < tollgate_floor('day', t_to)
          UNION ALL
          SELECT * FROM cache_entries_hourly
           WHERE kind = k
             AND ((bucket >= tollgate_ceil('hour', t_from)
                   AND bucket < CASE WHEN tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
                                     THEN tollgate_ceil('day', t_from) ELSE tollgate_floor('hour', t_to) END)
                  OR (tollgate_ceil('day', t_from) < tollgate_floor('day', t_to)
                      AND bucket >= tollgate_floor('day', t_to) AND bucket < tollgate_floor('hour', t_to)))
          UNION ALL
          SELECT * FROM cache_entries_pending
           WHERE kind = k AND bucket >= tollgate_ceil('hour', t_from) AND bucket < tollgate_floor('hour', t_to)) r
   WHERE ('__all' = ANY (dims) OR r.dim = ANY (dims))
     AND ('__all' = ANY (tenants) OR r.tenant = ANY (tenants))
  UNION ALL
  SELECT p.created_at, p.tenant, p.model, 1
    FROM persona_cache p
   WHERE k = 'persona'
     AND ((p.created_at >= t_from AND p.created_at < tollgate_ceil('hour', t_from) AND p.created_at <= t_to)
          OR (p.created_at >= greatest(tollgate_floor('hour', t_to), tollgate_ceil('hour', t_from)) AND p.created_at <= t_to))
     AND ('__all' = ANY (dims) OR p.model = ANY (dims))
     AND ('__all' = ANY (tenants) OR p.tenant = ANY (tenants))
  UNION ALL
  SELECT s.created_at, s.tenant, s.endpoint, 1
    FROM request_log s
   WHERE k = 'stored'
     AND ((s.created_at >= t_from AND s.created_at < tollgate_ceil('hour', t_from) AND s.created_at <= t_to)
          OR (s.created_at >= greatest(tollgate_floor('hour', t_to), tollgate_ceil('hour', t_from)) AND s.created_at <= t_to))
     AND ('__all' = ANY (dims) OR s.endpoint = ANY (dims))
     AND ('__all' = ANY (tenants) OR s.tenant = ANY (tenants))
$$;

-- New day partitions get the two indexes the tenant-filtered raw reads need: (tenant, created_at), a
-- tenant's calls newest first (the Tenants call list: partitions are scanned newest first and stop
-- at the list's cap; a tenant's partial days for its percentiles), and (tenant, endpoint, model,
-- created_at), one model's calls of a tenant (the Costs call list with a tenant selected, which
-- otherwise reads every call of the model to find a rare tenant's). The proxy adds them to existing
-- partitions with CREATE INDEX CONCURRENTLY (proxy/src/log/partitions.ts).
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
  EXECUTE format('CREATE INDEX ON %I USING brin (created_at) WITH (pages_per_range = 16)', name);
  EXECUTE format('ALTER TABLE %I ADD CHECK (created_at >= %L AND created_at < %L)', name, lo, hi);
  EXECUTE format('WITH moved AS (DELETE FROM openai_call_log_default WHERE created_at >= %L AND created_at < %L RETURNING *)
                  INSERT INTO %I SELECT * FROM moved', lo, hi, name);
  EXECUTE format('ALTER TABLE openai_call_log ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
  RETURN true;
END
$$;

-- The partitions that hold no row yet (the days created ahead, the DEFAULT partition; all of them in
-- a new database) get the indexes here: building one on an empty table is a catalog change.
-- Partitions with rows are indexed by the proxy, concurrently.
DO $$
DECLARE
  p record;
  has_rows boolean;
BEGIN
  FOR p IN SELECT c.relname FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
            WHERE h.inhparent = 'openai_call_log'::regclass
              AND (c.relname LIKE 'openai\_call\_log\_p%' OR c.relname = 'openai_call_log_default')
              AND to_regclass(c.relname || '_tenant_idx') IS NULL LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', p.relname) INTO has_rows;
    IF NOT has_rows THEN
      EXECUTE format('CREATE INDEX %I ON %I (tenant, created_at)', p.relname || '_tenant_idx', p.relname);
      EXECUTE format('CREATE INDEX %I ON %I (tenant, endpoint, model, created_at)', p.relname || '_tenant_model_idx', p.relname);
    END IF;
  END LOOP;
END
$$;
