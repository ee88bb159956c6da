-- Performance page: latency, time to first byte, overhead and failure rates of the proxy's calls by
-- endpoint and model. Percentiles from the latency histograms (within 4.4 % of percentile_cont over
-- the raw rows), counts and rates exact (call_log_facts).
WITH h AS (
  SELECT endpoint, model, bin, SUM(latency) AS latency, SUM(ttfb) AS ttfb, SUM(overhead) AS overhead
  FROM call_log_latency_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant], 'day', true)
  GROUP BY 1, 2, 3
), p AS (
  SELECT endpoint, model,
    tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(latency ORDER BY bin), '{0.5,0.95,0.99}') AS latency,
    tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(ttfb ORDER BY bin), '{0.95}') AS ttfb,
    tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(overhead ORDER BY bin), '{0.95}') AS overhead
  FROM h
  GROUP BY 1, 2
), r AS (
  SELECT endpoint, model, SUM(calls_proxy) AS calls, SUM(errors) AS errors, SUM(rate_limited) AS rate_limited, SUM(aborted) AS aborted
  FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant])
  GROUP BY 1, 2
  HAVING SUM(calls_proxy) <> 0
)
SELECT
  r.endpoint,
  r.model,
  r.calls,
  p.latency[1] AS latency_p50_ms,
  p.latency[2] AS latency_p95_ms,
  p.latency[3] AS latency_p99_ms,
  p.ttfb[1] AS ttfb_p95_ms,
  p.overhead[1] AS overhead_p95_ms,
  r.errors::float8 / r.calls AS error_rate,
  r.rate_limited::float8 / r.calls AS rate_limited_rate,
  r.aborted::float8 / r.calls AS client_abort_rate
FROM r
LEFT JOIN p ON p.endpoint = r.endpoint AND p.model = r.model
ORDER BY r.calls DESC, r.endpoint, r.model
LIMIT 200;
