-- Costs drill-down, one endpoint: one row per model. Calls, cost and tokens count every row, apps'
-- own (cache_status 'external') included; the hit ratio is over the proxy's calls only (NULL for a
-- model only apps logged).
SELECT
  model,
  COUNT(*) AS calls,
  COALESCE(SUM(cost_usd), 0)::float8 AS cost_usd,
  COALESCE(SUM(tokens_prompt), 0) AS tokens_prompt,
  COALESCE(SUM(tokens_completion), 0) AS tokens_completion,
  (COUNT(*) FILTER (WHERE cache_status = 'hit'))::float8
    / NULLIF(COUNT(*) FILTER (WHERE cache_status <> 'external'), 0) AS hit_ratio
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND endpoint = '${drill_endpoint}'
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
GROUP BY model
ORDER BY cost_usd DESC, model;
