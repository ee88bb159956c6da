-- Exact cache hit ratio per UTC day: hits over the proxy's calls, from cache_status. Rows apps log
-- themselves (cache_status 'external') are neither hits nor misses: left out, so a day with only
-- those has no point rather than a ratio of 0.
SELECT
  $__timeGroupAlias(created_at, '1d'),
  (COUNT(*) FILTER (WHERE cache_status = 'hit'))::float8 / COUNT(*) AS hit_ratio
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND cache_status <> 'external'
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
GROUP BY 1
ORDER BY 1;
