-- Budget page: each tenant's spend this month against its monthly budget (tenant_names), with the
-- same straight-line projection as budget_month_to_date.sql. Tenants without a budget are listed
-- too (budget empty), so a big spender without one is not hidden. Per-tenant rollup rows
-- ('__each'), the tenant selection applied to them.
WITH m AS (
  SELECT tollgate_floor('month', $__timeTo()::timestamptz) AS month_start, $__timeTo()::timestamptz AS until
), spend AS (
  SELECT tenant, (COALESCE(SUM(cost_e10), 0) * 1e-10)::float8 AS mtd
  FROM call_log_facts(GREATEST($__timeFrom()::timestamptz, tollgate_floor('month', $__timeTo()::timestamptz)), $__timeTo(),
                      ARRAY[$endpoint], ARRAY[$model], ARRAY['__each'])
  WHERE ('__all' IN ($tenant) OR tenant IN ($tenant))
  GROUP BY tenant
  HAVING SUM(calls) <> 0
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
