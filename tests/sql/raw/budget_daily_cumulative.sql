-- Reference for tests/sql/queries.test.ts: this panel's query over the raw rows, as it was before
-- migration 021; the panel over the rollups must return exactly the same rows.
-- Budget page: spend so far in the month the range ends in, cumulative per UTC day.
WITH daily AS (
  SELECT
    $__timeGroupAlias(created_at, '1d'),
    COALESCE(SUM(cost_usd), 0) AS cost
  FROM openai_call_log
  WHERE $__timeFilter(created_at)
    AND created_at >= date_trunc('month', $__timeTo()::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
  GROUP BY 1
)
SELECT "time", (SUM(cost) OVER (ORDER BY "time"))::float8 AS month_to_date_usd
FROM daily
ORDER BY 1;
