-- Reference for tests/sql/queries.test.ts: this panel's query over the raw rows, as it was before
-- migration 021; the panel over the rollups must return exactly the same rows.
-- Tenants page: who spends, most first. The name comes from tenant_names (npm run tenants:load),
-- else the tenant id itself; the id stays a column for the drill-down link. Hit ratio over the
-- proxy's own calls (external rows are neither hits nor misses, as in hit_ratio.sql).
WITH calls AS (
  SELECT *
  FROM openai_call_log
  WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
  AND ('__all' IN ($app_user) OR app_user IN ($app_user))
  AND ('__all' IN ($tag) OR tags && ARRAY[$tag]::text[])
)
SELECT
  c.tenant,
  COALESCE(MAX(n.display_name), c.tenant) AS tenant_name,
  COUNT(*) AS calls,
  COALESCE(SUM(c.cost_usd), 0)::float8 AS cost_usd,
  COALESCE(SUM(c.cost_saved_usd), 0)::float8 AS saved_usd,
  ((COUNT(*) FILTER (WHERE c.cache_status = 'hit'))::float8
    / NULLIF(COUNT(*) FILTER (WHERE c.cache_status <> 'external'), 0)) AS hit_ratio,
  COUNT(DISTINCT c.app_user) AS app_users
FROM calls c
LEFT JOIN tenant_names n ON n.tenant = c.tenant
GROUP BY c.tenant
ORDER BY cost_usd DESC, c.tenant
LIMIT 100;
