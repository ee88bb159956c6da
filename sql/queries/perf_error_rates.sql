-- Performance page: share of calls per time bucket that failed (400 and above, not the caller
-- leaving), were rate limited (429) or were abandoned by the caller.
SELECT
  $__timeGroupAlias(created_at, $__interval),
  (COUNT(*) FILTER (WHERE status_code >= 400 AND NOT client_aborted))::float8 / COUNT(*) AS "Errors",
  (COUNT(*) FILTER (WHERE status_code = 429))::float8 / COUNT(*) AS "Rate limited (429)",
  (COUNT(*) FILTER (WHERE client_aborted))::float8 / COUNT(*) AS "Client aborts"
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND cache_status <> 'external'
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
GROUP BY 1
ORDER BY 1;
