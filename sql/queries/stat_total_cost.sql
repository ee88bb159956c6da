-- Overview stat: total cost of the calls in range (float8 so Grafana reads a number, not a string).
SELECT COALESCE(SUM(cost_usd), 0)::float8 AS total_cost_usd
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant));
