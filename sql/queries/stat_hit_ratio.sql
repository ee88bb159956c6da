-- Overview stat: exact cache hit ratio, cache hits over the proxy's calls (0 when there are none).
-- Rows apps log themselves (cache_status 'external') are neither hits nor misses: left out.
SELECT COALESCE(
  (COUNT(*) FILTER (WHERE cache_status = 'hit'))::float8 / NULLIF(COUNT(*), 0), 0
) AS hit_ratio
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND cache_status <> 'external'
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant));
