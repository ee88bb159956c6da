-- Overview stat: exact cache hit ratio, cache hits over all calls (0 when there are none).
SELECT COALESCE(
  (COUNT(*) FILTER (WHERE cache_status = 'hit'))::float8 / NULLIF(COUNT(*), 0), 0
) AS hit_ratio
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant));
