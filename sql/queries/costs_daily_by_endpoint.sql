-- Costs page: cost per UTC day and endpoint, with the page's filters.
SELECT
  $__timeGroupAlias(created_at, '1d'),
  endpoint AS metric,
  SUM(cost_usd)::float8 AS cost_usd
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
GROUP BY 1, 2
ORDER BY 1, 2;
