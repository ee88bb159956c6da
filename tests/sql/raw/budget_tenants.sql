-- Reference for tests/sql/queries.test.ts: this panel's query over the raw rows, as it was before
-- migration 021; the panel over the rollups must return exactly the same rows.
-- Budget page: each tenant's spend this month against its monthly budget (tenant_names), with the
-- same straight-line projection as budget_month_to_date.sql. Tenants without a budget are listed
-- too (budget empty), so a big spender without one is not hidden.
WITH m AS (
  SELECT date_trunc('month', $__timeTo()::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month_start, $__timeTo()::timestamptz AS until
), spend AS (
  SELECT tenant, COALESCE(SUM(cost_usd), 0)::float8 AS mtd
  FROM openai_call_log
  WHERE $__timeFilter(created_at)
    AND created_at >= (SELECT month_start FROM m)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
  GROUP BY tenant
)
SELECT
  s.tenant,
  COALESCE(n.display_name, s.tenant) AS tenant_name,
  s.mtd AS month_to_date_usd,
  (s.mtd * extract(epoch FROM (m.month_start + interval '1 month') - m.month_start)
    / GREATEST(extract(epoch FROM m.until - m.month_start), 3600))::float8 AS projected_month_usd,
  n.monthly_budget_usd::float8 AS budget_usd,
  (s.mtd / NULLIF(n.monthly_budget_usd, 0))::float8 AS budget_used
FROM spend s
CROSS JOIN m
LEFT JOIN tenant_names n ON n.tenant = s.tenant
ORDER BY budget_used DESC NULLS LAST, month_to_date_usd DESC, s.tenant
LIMIT 100;
