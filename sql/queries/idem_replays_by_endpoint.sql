-- Idempotency page: replays and coalesced requests per endpoint, with what they saved.
SELECT
  endpoint,
  COUNT(*) FILTER (WHERE cache_status = 'idempotent_replay') AS replays,
  COUNT(*) FILTER (WHERE cache_status = 'coalesced') AS coalesced,
  COALESCE(SUM(cost_saved_usd), 0)::float8 AS saved_usd
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND cache_status IN ('idempotent_replay', 'coalesced')
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
GROUP BY endpoint
ORDER BY COUNT(*) DESC, endpoint;
