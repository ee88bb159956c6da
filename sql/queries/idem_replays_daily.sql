-- Idempotency page: replays of a stored response and coalesced duplicates, per UTC day.
SELECT
  $__timeGroupAlias(created_at, '1d'),
  cache_status AS metric,
  COUNT(*) AS requests
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND cache_status IN ('idempotent_replay', 'coalesced')
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
GROUP BY 1, 2
ORDER BY 1, 2;
