-- Reference for tests/sql/queries.test.ts: this panel's query over the raw rows, as it was before
-- migration 021; the panel over the rollups must return exactly the same rows.
-- Tenants page: spend inside the tenants by the app's own user (X-Tollgate-User or the request's
-- user field); calls without one are grouped as '(none)'.
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
  COALESCE(MAX(n.display_name), c.tenant) AS tenant_name,
  COALESCE(c.app_user, '(none)') AS app_user,
  COUNT(*) AS calls,
  COALESCE(SUM(c.cost_usd), 0)::float8 AS cost_usd
FROM calls c
LEFT JOIN tenant_names n ON n.tenant = c.tenant
GROUP BY c.tenant, c.app_user
ORDER BY cost_usd DESC, 1, 2
LIMIT 100;
