-- Rolls up the rows already written into 021's new columns and tables, without blocking writers.
--
-- Since 021 committed, every write adds complete deltas (errors, app_user, tags, latency bins,
-- cache entries); 021's lock made every write of the old kind commit before it. Each statement
-- below reads the raw rows and the pending deltas on ONE snapshot and sets the rollup to
--   (sum over the rows visible) - (sum over the deltas visible and not folded yet)
-- which is what the rollup must hold so that folding the pending deltas (this transaction's fold
-- at the end, and later ones for rows committed after the snapshot) counts every row once. Deltas
-- written by 011's functions carry no errors, app_user or tags: subtracting them as they are and
-- folding them as they are cancels out. Writers are not blocked (the statements only read the
-- logs); the fold's advisory lock keeps other replicas' folds out until this commits.
SELECT pg_advisory_xact_lock(7346221002);

-- Error, 429 and client-abort counts of the existing rollup rows.
CREATE TEMP TABLE tollgate_backfill_errors ON COMMIT DROP AS
SELECT bucket, endpoint, model, tenant, sum(errors) AS errors, sum(rate_limited) AS rate_limited, sum(aborted) AS aborted
  FROM (SELECT tollgate_floor('hour', created_at) AS bucket, endpoint, model, tenant,
               count(*) FILTER (WHERE cache_status <> 'external' AND status_code >= 400 AND NOT client_aborted) AS errors,
               count(*) FILTER (WHERE cache_status <> 'external' AND status_code = 429) AS rate_limited,
               count(*) FILTER (WHERE cache_status <> 'external' AND client_aborted) AS aborted
          FROM openai_call_log GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT bucket, endpoint, model, tenant, -sum(errors), -sum(rate_limited), -sum(aborted)
          FROM call_log_pending GROUP BY 1, 2, 3, 4) x
 GROUP BY 1, 2, 3, 4;

DO $$
DECLARE
  unit text;
BEGIN
  FOREACH unit IN ARRAY ARRAY['hour', 'day'] LOOP
    EXECUTE format($f$
      INSERT INTO %I AS r (bucket, endpoint, model, tenant, calls, calls_proxy, hits, replays, coalesced, cost_e10,
                           cost_rows, saved_e10, saved_hit_e10, saved_hit_rows, saved_replay_e10, saved_replay_rows,
                           saved_coal_e10, saved_coal_rows, tokens_prompt, tokens_completion, errors, rate_limited, aborted)
      SELECT tollgate_floor(%L, b.bucket), b.endpoint, b.model, t.tenant, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
             sum(b.errors), sum(b.rate_limited), sum(b.aborted)
        FROM pg_temp.tollgate_backfill_errors b CROSS JOIN LATERAL (VALUES (b.tenant), (NULL)) AS t (tenant)
       GROUP BY 1, 2, 3, 4
      ON CONFLICT (tenant, bucket, endpoint, model) DO UPDATE SET
        errors = EXCLUDED.errors, rate_limited = EXCLUDED.rate_limited, aborted = EXCLUDED.aborted
      $f$, CASE unit WHEN 'hour' THEN 'call_log_hourly' ELSE 'call_log_daily' END, unit);
  END LOOP;
END
$$;

-- Attribution rollups.
DELETE FROM call_log_attr_hourly;
DELETE FROM call_log_attr_daily;
DELETE FROM call_log_attr_tenant_hourly;
DELETE FROM call_log_attr_tenant_daily;
CREATE TEMP TABLE tollgate_backfill_attr ON COMMIT DROP AS
SELECT bucket, tenant, app_user, tags, endpoint, model, sum(calls) AS calls, sum(calls_proxy) AS calls_proxy,
       sum(hits) AS hits, sum(cost) AS cost, sum(cost_rows) AS cost_rows, sum(saved) AS saved,
       sum(saved_hit) AS saved_hit, sum(saved_idem) AS saved_idem
  FROM (SELECT tollgate_floor('hour', created_at) AS bucket, tenant, app_user, tags, endpoint, model,
               count(*) AS calls, count(*) FILTER (WHERE cache_status <> 'external') AS calls_proxy,
               count(*) FILTER (WHERE cache_status = 'hit') AS hits,
               COALESCE(sum(cost_usd), 0) AS cost, count(cost_usd) AS cost_rows, COALESCE(sum(cost_saved_usd), 0) AS saved,
               COALESCE(sum(cost_saved_usd) FILTER (WHERE cache_status = 'hit'), 0) AS saved_hit,
               COALESCE(sum(cost_saved_usd) FILTER (WHERE cache_status IN ('idempotent_replay', 'coalesced')), 0) AS saved_idem
          FROM openai_call_log GROUP BY 1, 2, 3, 4, 5, 6
        UNION ALL
        SELECT bucket, tenant, app_user, tags, endpoint, model, -sum(calls), -sum(calls_proxy), -sum(hits), -sum(cost),
               -sum(cost_rows), -sum(saved), -sum(saved_hit), -sum(saved_replay) - sum(saved_coal)
          FROM call_log_pending GROUP BY 1, 2, 3, 4, 5, 6) x
 GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO call_log_attr_hourly
SELECT bucket, tenant, app_user, tags, endpoint, model, calls, calls_proxy, hits, (cost * 10000000000)::bigint, cost_rows,
       (saved * 10000000000)::bigint, (saved_hit * 10000000000)::bigint, (saved_idem * 10000000000)::bigint
  FROM pg_temp.tollgate_backfill_attr;
INSERT INTO call_log_attr_daily
SELECT tollgate_floor('day', bucket), tenant, app_user, tags, endpoint, model, sum(calls), sum(calls_proxy), sum(hits),
       (sum(cost) * 10000000000)::bigint, sum(cost_rows), (sum(saved) * 10000000000)::bigint,
       (sum(saved_hit) * 10000000000)::bigint, (sum(saved_idem) * 10000000000)::bigint
  FROM pg_temp.tollgate_backfill_attr
 GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO call_log_attr_tenant_hourly
SELECT bucket, tenant, app_user, tags, sum(calls), sum(calls_proxy), sum(hits), (sum(cost) * 10000000000)::bigint, sum(cost_rows),
       (sum(saved) * 10000000000)::bigint, (sum(saved_hit) * 10000000000)::bigint, (sum(saved_idem) * 10000000000)::bigint
  FROM pg_temp.tollgate_backfill_attr
 GROUP BY 1, 2, 3, 4;
INSERT INTO call_log_attr_tenant_daily
SELECT tollgate_floor('day', bucket), tenant, app_user, tags, sum(calls), sum(calls_proxy), sum(hits),
       (sum(cost) * 10000000000)::bigint, sum(cost_rows), (sum(saved) * 10000000000)::bigint,
       (sum(saved_hit) * 10000000000)::bigint, (sum(saved_idem) * 10000000000)::bigint
  FROM pg_temp.tollgate_backfill_attr
 GROUP BY 1, 2, 3, 4;

-- Latency histograms.
DELETE FROM call_log_latency_hourly;
DELETE FROM call_log_latency_daily;
DELETE FROM call_log_latency_tenant_daily;
CREATE TEMP TABLE tollgate_backfill_latency ON COMMIT DROP AS
SELECT bucket, endpoint, model, tenant, bin, sum(latency) AS latency, sum(ttfb) AS ttfb, sum(overhead) AS overhead
  FROM (SELECT tollgate_floor('hour', c.created_at) AS bucket, c.endpoint, c.model, c.tenant, b.bin,
               count(*) FILTER (WHERE b.metric = 1) AS latency, count(*) FILTER (WHERE b.metric = 2) AS ttfb,
               count(*) FILTER (WHERE b.metric = 3) AS overhead
          FROM openai_call_log c
         CROSS JOIN LATERAL (VALUES (1, tollgate_latency_bin(c.latency_ms)),
                                    (2, CASE WHEN c.stream THEN tollgate_latency_bin(c.ttfb_ms) END),
                                    (3, tollgate_latency_bin(c.latency_ms::bigint - c.upstream_ms))) AS b (metric, bin)
         WHERE c.cache_status <> 'external' AND b.bin IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5
        UNION ALL
        SELECT bucket, endpoint, model, tenant, bin, -sum(latency), -sum(ttfb), -sum(overhead)
          FROM call_log_latency_pending GROUP BY 1, 2, 3, 4, 5) x
 GROUP BY 1, 2, 3, 4, 5;
INSERT INTO call_log_latency_hourly (bucket, endpoint, model, tenant, bin, latency, ttfb, overhead)
SELECT b.bucket, k.endpoint, k.model, NULL, b.bin, sum(b.latency), sum(b.ttfb), sum(b.overhead)
  FROM pg_temp.tollgate_backfill_latency b
 CROSS JOIN LATERAL (VALUES (b.endpoint, b.model), (NULL, NULL)) AS k (endpoint, model)
 GROUP BY 1, 2, 3, 5;
INSERT INTO call_log_latency_daily (bucket, endpoint, model, tenant, bin, latency, ttfb, overhead)
SELECT tollgate_floor('day', b.bucket), k.endpoint, k.model, NULL, b.bin, sum(b.latency), sum(b.ttfb), sum(b.overhead)
  FROM pg_temp.tollgate_backfill_latency b
 CROSS JOIN LATERAL (VALUES (b.endpoint, b.model), (NULL, NULL)) AS k (endpoint, model)
 GROUP BY 1, 2, 3, 5;
INSERT INTO call_log_latency_tenant_daily (bucket, endpoint, model, tenant, bin, latency, ttfb, overhead)
SELECT tollgate_floor('day', bucket), endpoint, model, tenant, bin, sum(latency), sum(ttfb), sum(overhead)
  FROM pg_temp.tollgate_backfill_latency
 GROUP BY 1, 2, 3, 4, 5;

-- Persona cache entries and stored responses.
DELETE FROM cache_entries_hourly;
DELETE FROM cache_entries_daily;
CREATE TEMP TABLE tollgate_backfill_entries ON COMMIT DROP AS
SELECT kind, bucket, tenant, dim, sum(entries) AS entries
  FROM (SELECT 'persona' AS kind, tollgate_floor('hour', created_at) AS bucket, tenant, model AS dim, count(*) AS entries
          FROM persona_cache GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT 'stored', tollgate_floor('hour', created_at), tenant, endpoint, count(*)
          FROM request_log GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT kind, bucket, tenant, dim, -sum(entries) FROM cache_entries_pending GROUP BY 1, 2, 3, 4) x
 GROUP BY 1, 2, 3, 4;
INSERT INTO cache_entries_hourly SELECT kind, bucket, tenant, dim, entries FROM pg_temp.tollgate_backfill_entries;
INSERT INTO cache_entries_daily
SELECT kind, tollgate_floor('day', bucket), tenant, dim, sum(entries) FROM pg_temp.tollgate_backfill_entries GROUP BY 1, 2, 3, 4;

-- The fold's own try-lock succeeds (this transaction holds it).
SELECT tollgate_call_log_fold(2147483647);
