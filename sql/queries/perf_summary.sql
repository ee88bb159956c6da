-- Performance page stats: latency percentiles of the calls in range, proxy overhead (the proxy's own
-- time: latency_ms - upstream_ms, for calls that went upstream), error, 429 and client-abort
-- rates. Errors are answers of 400 and above that the caller did not cause by leaving (499).
SELECT
  percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms)::float8 AS latency_p50_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)::float8 AS latency_p95_ms,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms)::float8 AS latency_p99_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY ttfb_ms) FILTER (WHERE stream)::float8 AS ttfb_p95_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms - upstream_ms)::float8 AS overhead_p95_ms,
  (COUNT(*) FILTER (WHERE status_code >= 400 AND NOT client_aborted))::float8 / NULLIF(COUNT(*), 0) AS error_rate,
  (COUNT(*) FILTER (WHERE status_code = 429))::float8 / NULLIF(COUNT(*), 0) AS rate_limited_rate,
  (COUNT(*) FILTER (WHERE client_aborted))::float8 / NULLIF(COUNT(*), 0) AS client_abort_rate
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND cache_status <> 'external'
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant));
