-- The Performance page's histograms read the raw rows of a range's partial hours (call_log_latency_facts,
-- migration 021), and each raw row becomes up to three (latency, time to first byte and overhead
-- bins). 021 made the three with a LATERAL VALUES list: a subplan run for every row, behind a
-- Memoize keyed on 17 columns. At a 100 M-row log's density (`npm run bench:sql --density
-- 100000000`: ~46,000 calls an hour, 22,000-32,000 raw rows in a range's two partial hours) that
-- step took 90-130 ms of every perf_* panel (EXPLAIN ANALYZE: the nested loop over 32,076 rows,
-- 130 ms, above a 23 ms scan). unnest over two arrays makes the same rows in one pass, with no
-- subplan: 72-110 ms against 142-246 ms for the raw part alone, same rows, same minutes.
--
-- Same function, same results (tests/sql/queries.test.ts checks every perf panel against the raw
-- rows); only the raw part's row expansion is written differently. Catalog only: no lock on any
-- table, nothing to migrate.
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
   CROSS JOIN LATERAL unnest('{1,2,3}'::int[],
                             ARRAY[tollgate_latency_bin(c.latency_ms),
                                   CASE WHEN c.stream THEN tollgate_latency_bin(c.ttfb_ms) END,
                                   tollgate_latency_bin(c.latency_ms::bigint - c.upstream_ms)]) AS b (metric, bin)
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
