-- Overview stat: calls logged in range, the proxy's and those apps log themselves
-- (cache_status 'external').
SELECT COUNT(*) AS calls
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant));
