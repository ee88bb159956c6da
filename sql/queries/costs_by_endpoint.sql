-- Costs page: one row per endpoint, the entry point of the drill-down.
SELECT
  endpoint,
  COUNT(*) AS calls,
  COALESCE(SUM(cost_usd), 0)::float8 AS cost_usd,
  COALESCE(SUM(cost_saved_usd), 0)::float8 AS saved_usd,
  COALESCE(SUM(tokens_prompt), 0) + COALESCE(SUM(tokens_completion), 0) AS tokens
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
GROUP BY endpoint
ORDER BY cost_usd DESC, endpoint;
