-- Cost by model in range, with the page's filters: the design note's panel 4
-- (panel4_model_cost_breakdown, all time on the raw log) on the fast path.
SELECT
  model,
  (CASE WHEN SUM(cost_rows) <> 0 THEN SUM(cost_e10) * 1e-10 END)::float8 AS total_cost_usd
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant])
GROUP BY model
HAVING SUM(calls) <> 0
ORDER BY total_cost_usd DESC NULLS LAST, model;
