-- Reference for tests/sql/queries.test.ts: this panel's query over the raw rows, as it was before
-- migration 021; the panel over the rollups must return exactly the same rows.
-- Tenants page: cost per UTC day of the ten biggest spenders in range, one series per tenant,
-- named by Grafana's `metric` column (the tenant's name). The rest would be noise on a trend
-- chart; the table lists everyone.
WITH calls AS (
  SELECT *
  FROM openai_call_log
  WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
  AND ('__all' IN ($app_user) OR app_user IN ($app_user))
  AND ('__all' IN ($tag) OR tags && ARRAY[$tag]::text[])
), top AS (
  SELECT tenant FROM calls GROUP BY tenant ORDER BY SUM(cost_usd) DESC NULLS LAST, tenant LIMIT 10
)
SELECT
  $__timeGroupAlias(c.created_at, '1d'),
  COALESCE(n.display_name, c.tenant) AS metric,
  COALESCE(SUM(c.cost_usd), 0)::float8 AS cost_usd
FROM calls c
JOIN top ON top.tenant = c.tenant
LEFT JOIN tenant_names n ON n.tenant = c.tenant
GROUP BY 1, 2
ORDER BY 1, 2;
