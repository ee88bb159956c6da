-- Overview stat: calls that reached the proxy in range.
SELECT COUNT(*) AS calls
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant));
