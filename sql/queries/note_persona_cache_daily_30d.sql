-- Design note 1.1 A: daily new persona cache entries, last 30 days (as written; days in the
-- session time zone, UTC for the Grafana role).
SELECT
  DATE(created_at) AS day,
  COUNT(*) AS new_entries
FROM persona_cache
WHERE created_at >= NOW() - INTERVAL '30 days'
GROUP BY day
ORDER BY day;
