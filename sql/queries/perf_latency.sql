-- Performance page: end-to-end latency percentiles per time bucket (Grafana's interval, so the
-- points follow the range), calls logged by the proxy only (external rows have no latency).
SELECT
  $__timeGroupAlias(created_at, $__interval),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms)::float8 AS "p50",
  percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)::float8 AS "p95",
  percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms)::float8 AS "p99"
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND latency_ms IS NOT NULL
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
GROUP BY 1
ORDER BY 1;
