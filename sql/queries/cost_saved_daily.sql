-- Cost saved per UTC day, split by how it was saved (cache hit, idempotent replay, coalesced).
SELECT
  $__timeGroupAlias(created_at, '1d'),
  cache_status AS metric,
  SUM(cost_saved_usd)::float8 AS saved_usd
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND cache_status IN ('hit', 'idempotent_replay', 'coalesced')
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
GROUP BY 1, 2
ORDER BY 1, 2;
