-- Budget page: spend so far in the month the range ends in, cumulative per UTC day (rollups:
-- call_log_facts from the later of the range's start and the month's).
WITH daily AS (
  SELECT
    $__timeGroupAlias(bucket, '1d'),
    COALESCE(SUM(cost_e10), 0) AS cost
  FROM call_log_facts(GREATEST($__timeFrom()::timestamptz, tollgate_floor('month', $__timeTo()::timestamptz)), $__timeTo(),
                      ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant])
  GROUP BY 1
  HAVING SUM(calls) <> 0
)
SELECT "time", (SUM(cost) OVER (ORDER BY "time") * 1e-10)::float8 AS month_to_date_usd
FROM daily
ORDER BY 1;
