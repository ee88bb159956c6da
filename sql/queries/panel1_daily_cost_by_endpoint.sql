-- Design note panel 1: daily OpenAI cost by endpoint (as written). Days are UTC days: Grafana's
-- timeGroup macro buckets on epoch seconds, whatever the dashboard time zone.
SELECT
  $__timeGroup(created_at, '1d') AS time,
  endpoint,
  SUM(cost_usd) AS value
FROM openai_call_log
WHERE $__timeFilter(created_at)
GROUP BY time, endpoint
ORDER BY time;
