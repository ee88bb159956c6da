-- Overview stat: calls that reached the proxy in range.
SELECT COUNT(*) AS calls
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND endpoint IN ($endpoint)
  AND model IN ($model)
  AND tenant IN ($tenant);
