-- Design note panel 2: persona cache growth, new entries per UTC day (as written).
SELECT
  $__timeGroup(created_at, '1d') AS time,
  COUNT(*) AS value
FROM persona_cache
WHERE $__timeFilter(created_at)
GROUP BY time
ORDER BY time;
