-- Design note 1.2: daily idempotent entries, last 30 days (as written).
SELECT
  DATE(created_at) AS day,
  COUNT(*) AS requests_deduped
FROM request_log
WHERE created_at >= NOW() - INTERVAL '30 days'
GROUP BY day
ORDER BY day;
