-- Design note 1.3: daily OpenAI cost estimate by endpoint, last 30 days (as written).
SELECT
  DATE(created_at) AS day,
  endpoint,
  SUM(cost_usd) AS total_cost_usd
FROM openai_call_log
WHERE created_at >= NOW() - INTERVAL '30 days'
GROUP BY day, endpoint
ORDER BY day, endpoint;
