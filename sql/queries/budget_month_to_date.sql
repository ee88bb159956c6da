-- Budget page (time range: this month so far): spend from the start of the month the range ends in
-- to the range's end, and a straight-line projection to that month's end (spend per elapsed second
-- of the month times the month's seconds; at least an hour elapsed, so a new month's first call is
-- not multiplied by thousands). One row; the stats pick their column. Budgets are per tenant:
-- budget_tenants.sql. Spend from the rollups (call_log_facts).
WITH m AS (
  SELECT tollgate_floor('month', $__timeTo()::timestamptz) AS month_start, $__timeTo()::timestamptz AS until
), spend AS (
  SELECT COALESCE(SUM(cost_e10), 0) * 1e-10 AS mtd
  FROM call_log_facts(GREATEST($__timeFrom()::timestamptz, tollgate_floor('month', $__timeTo()::timestamptz)), $__timeTo(),
                      ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant])
)
SELECT
  spend.mtd::float8 AS month_to_date_usd,
  (spend.mtd * extract(epoch FROM (m.month_start + interval '1 month') - m.month_start)
    / GREATEST(extract(epoch FROM m.until - m.month_start), 3600))::float8 AS projected_month_usd
FROM m, spend;
