-- Tenants page: cost per UTC day of the ten biggest spenders in range, one series per tenant,
-- named by Grafana's `metric` column (the tenant's name). The rest would be noise on a trend
-- chart; the table lists everyone. Exact: with nothing but tenants selected, the per-tenant rollups
-- (call_log_tenant_facts, migration 024: one row per tenant and day); with an endpoint or model, the
-- per-tenant call-log rollups; with an app user or tag, the attribution rollups (call_log_attr_facts).
WITH f AS (
  SELECT bucket, tenant, calls, cost_e10
  FROM call_log_tenant_facts($__timeFrom(), $__timeTo(), ARRAY[$tenant])
  WHERE '__all' IN ($endpoint) AND '__all' IN ($model) AND '__all' IN ($app_user) AND '__all' IN ($tag)
  UNION ALL
  SELECT bucket, tenant, calls, cost_e10
  FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY['__each'])
  WHERE NOT ('__all' IN ($endpoint) AND '__all' IN ($model)) AND '__all' IN ($app_user) AND '__all' IN ($tag)
    AND ('__all' IN ($tenant) OR tenant IN ($tenant))
  UNION ALL
  SELECT bucket, tenant, calls, cost_e10
  FROM call_log_attr_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant], ARRAY[$app_user], ARRAY[$tag])
  WHERE NOT ('__all' IN ($app_user) AND '__all' IN ($tag))
), d AS (
  -- per UTC day and tenant first: the top ten and the series read these few thousand rows
  SELECT $__timeGroupAlias(bucket, '1d'), tenant, SUM(calls) AS calls, SUM(cost_e10) AS cost_e10
  FROM f
  GROUP BY 1, 2
), top AS (
  SELECT tenant FROM d GROUP BY tenant HAVING SUM(calls) <> 0 ORDER BY SUM(cost_e10) DESC NULLS LAST, tenant LIMIT 10
)
SELECT
  d."time",
  COALESCE(n.display_name, d.tenant) AS metric,
  COALESCE(SUM(d.cost_e10) * 1e-10, 0)::float8 AS cost_usd
FROM d
JOIN top ON top.tenant = d.tenant
-- names joined to the daily sums, not to every rollup row
LEFT JOIN tenant_names n ON n.tenant = d.tenant
WHERE d.calls <> 0
GROUP BY 1, 2
ORDER BY 1, 2;
