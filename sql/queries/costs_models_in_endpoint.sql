-- Costs drill-down, one endpoint: one row per model. Calls, cost and tokens count every row, apps'
-- own (cache_status 'external') included; the hit ratio is over the proxy's calls only (NULL for a
-- model only apps logged). The filter bar's model and tenant apply; its endpoint selection empties
-- the table unless it includes this endpoint.
SELECT
  model,
  SUM(calls) AS calls,
  COALESCE(SUM(cost_e10) * 1e-10, 0)::float8 AS cost_usd,
  SUM(tokens_prompt) AS tokens_prompt,
  SUM(tokens_completion) AS tokens_completion,
  SUM(hits)::float8 / NULLIF(SUM(calls_proxy), 0) AS hit_ratio
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY['${drill_endpoint}'], ARRAY[$model], ARRAY[$tenant])
WHERE ('__all' IN ($endpoint) OR '${drill_endpoint}' IN ($endpoint))
GROUP BY model
HAVING SUM(calls) <> 0
ORDER BY cost_usd DESC, model;
