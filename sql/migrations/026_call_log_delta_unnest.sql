-- The call log's statement triggers (migration 021's three delta functions) give each inserted,
-- deleted or updated row its latency, time-to-first-byte and overhead bins for
-- call_log_latency_pending. 021 made the three with a LATERAL VALUES list: a subplan run for
-- every row of every batch the proxy writes. unnest over two arrays makes the same rows in one
-- pass (as migration 025 does for the Performance page's raw reads). COPY batches of 500 rows into
-- today's partition, the two versions alternated three times in the same minutes: 17,700-19,300
-- rows/s and 43-51 µs of Postgres CPU a row before, 20,100-21,100 rows/s and 40-43 µs after.
--
-- Same functions, same deltas (tests/sql/queries.test.ts checks every panel's numbers against the
-- raw rows, with inserted, deleted, updated and replayed rows). Catalog only: CREATE OR REPLACE
-- takes no lock on the call log; a statement running meanwhile finishes with the version it
-- started with, and both versions write the same rows.
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
         CROSS JOIN LATERAL unnest('{1,2,3}'::int[],
                                   ARRAY[tollgate_latency_bin(d.latency_ms),
                                         CASE WHEN d.stream THEN tollgate_latency_bin(d.ttfb_ms) END,
                                         tollgate_latency_bin(d.latency_ms::bigint - d.upstream_ms)]) AS b (metric, bin)
         WHERE d.cache_status <> 'external' AND b.bin IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5;
        RETURN NULL;
      END
      $body$$f$, f.name, f.source, f.source);
  END LOOP;
END
$do$;
