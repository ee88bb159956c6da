-- Overview stat: exact cache hit ratio, cache hits over all calls (0 when there are none).
SELECT COALESCE(
  (COUNT(*) FILTER (WHERE cache_status = 'hit'))::float8 / NULLIF(COUNT(*), 0), 0
) AS hit_ratio
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND endpoint IN ($endpoint)
  AND model IN ($model)
  AND tenant IN ($tenant);
