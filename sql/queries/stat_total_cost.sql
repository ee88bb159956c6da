-- Overview stat: total cost of the calls in range (float8 so Grafana reads a number, not a string).
-- call_log_facts (migration 011) reads the rollups and the raw rows of the partial hours; costs are
-- summed as integers of 1e-10 USD and scaled back exactly.
SELECT COALESCE(SUM(cost_e10) * 1e-10, 0)::float8 AS total_cost_usd
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant]);
