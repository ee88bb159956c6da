-- Performance page stats: latency percentiles of the proxy's calls in range, proxy overhead (the
-- proxy's own time: latency_ms - upstream_ms, for calls that went upstream), error, 429 and
-- client-abort rates. Errors are answers of 400 and above that the caller did not cause by leaving
-- (499). Percentiles come from the latency histograms (call_log_latency_facts, migration 021):
-- within 4.4 % of percentile_cont over the raw rows. Rates are exact (call_log_facts).
WITH h AS (
  SELECT bin, SUM(latency) AS latency, SUM(ttfb) AS ttfb, SUM(overhead) AS overhead
  FROM call_log_latency_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant], 'day', false)
  GROUP BY bin
), p AS (
  SELECT
    tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(latency ORDER BY bin), '{0.5,0.95,0.99}') AS latency,
    tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(ttfb ORDER BY bin), '{0.95}') AS ttfb,
    tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(overhead ORDER BY bin), '{0.95}') AS overhead
  FROM h
), r AS (
  SELECT SUM(calls_proxy) AS calls, SUM(errors) AS errors, SUM(rate_limited) AS rate_limited, SUM(aborted) AS aborted
  FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant])
)
SELECT
  p.latency[1] AS latency_p50_ms,
  p.latency[2] AS latency_p95_ms,
  p.latency[3] AS latency_p99_ms,
  p.ttfb[1] AS ttfb_p95_ms,
  p.overhead[1] AS overhead_p95_ms,
  r.errors::float8 / NULLIF(r.calls, 0) AS error_rate,
  r.rate_limited::float8 / NULLIF(r.calls, 0) AS rate_limited_rate,
  r.aborted::float8 / NULLIF(r.calls, 0) AS client_abort_rate
FROM p, r;
