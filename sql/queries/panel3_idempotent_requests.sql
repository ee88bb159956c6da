-- Design note panel 3: idempotent requests (stored responses) per UTC day (as written).
SELECT
  $__timeGroup(created_at, '1d') AS time,
  COUNT(*) AS value
FROM request_log
WHERE $__timeFilter(created_at)
GROUP BY time
ORDER BY time;
