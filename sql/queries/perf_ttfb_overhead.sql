-- Performance page: time to first byte of streamed calls, and the proxy's own overhead
-- (latency_ms - upstream_ms) of calls that went upstream, p50 and p95 per time bucket.
SELECT
  $__timeGroupAlias(created_at, $__interval),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY ttfb_ms) FILTER (WHERE stream)::float8 AS "TTFB p50",
  percentile_cont(0.95) WITHIN GROUP (ORDER BY ttfb_ms) FILTER (WHERE stream)::float8 AS "TTFB p95",
  percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms - upstream_ms)::float8 AS "Overhead p50",
  percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms - upstream_ms)::float8 AS "Overhead p95"
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND latency_ms IS NOT NULL
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
GROUP BY 1
ORDER BY 1;
