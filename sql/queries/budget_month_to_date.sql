-- Budget page (time range: this month so far): spend from the start of the month the range ends in
-- to the range's end, and a straight-line projection to that month's end (spend per elapsed second
-- of the month times the month's seconds; at least an hour elapsed, so a new month's first call is
-- not multiplied by thousands). One row; the stats pick their column. Budgets are per tenant:
-- budget_tenants.sql.
WITH m AS (
  SELECT date_trunc('month', $__timeTo()::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month_start, $__timeTo()::timestamptz AS until
), calls AS (
  SELECT *
  FROM openai_call_log
  WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
)
SELECT
  COALESCE(SUM(c.cost_usd), 0)::float8 AS month_to_date_usd,
  (COALESCE(SUM(c.cost_usd), 0) * extract(epoch FROM (MAX(m.month_start) + interval '1 month') - MAX(m.month_start))
    / GREATEST(extract(epoch FROM MAX(m.until) - MAX(m.month_start)), 3600))::float8 AS projected_month_usd
FROM m
LEFT JOIN calls c ON c.created_at >= m.month_start;
