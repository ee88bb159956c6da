-- Design note panel 4 (and its 1.3 "aggregated cost by model", the same text): all-time cost by
-- model (as written).
SELECT
  model,
  SUM(cost_usd) AS total_cost_usd
FROM openai_call_log
GROUP BY model
ORDER BY total_cost_usd DESC;
