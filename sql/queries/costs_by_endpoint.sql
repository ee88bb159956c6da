-- Costs page: one row per endpoint, the entry point of the drill-down.
SELECT
  endpoint,
  SUM(calls) AS calls,
  COALESCE(SUM(cost_e10) * 1e-10, 0)::float8 AS cost_usd,
  COALESCE(SUM(saved_e10) * 1e-10, 0)::float8 AS saved_usd,
  SUM(tokens_prompt) + SUM(tokens_completion) AS tokens
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant])
GROUP BY endpoint
HAVING SUM(calls) <> 0
ORDER BY cost_usd DESC, endpoint;
