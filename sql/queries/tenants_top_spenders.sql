-- Tenants page: who spends, most first. The name comes from tenant_names (npm run tenants:load),
-- else the tenant id itself; the id stays a column for the drill-down link. Hit ratio over the
-- proxy's own calls (external rows are neither hits nor misses, as in hit_ratio.sql). From the
-- attribution rollups (call_log_attr_facts, migration 021): exact.
WITH u AS (
  SELECT tenant, app_user, SUM(calls) AS calls, SUM(calls_proxy) AS calls_proxy, SUM(hits) AS hits,
         SUM(cost_e10) AS cost_e10, SUM(saved_e10) AS saved_e10
  FROM call_log_attr_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant], ARRAY[$app_user], ARRAY[$tag])
  GROUP BY tenant, app_user
  HAVING SUM(calls) <> 0
)
SELECT
  u.tenant,
  COALESCE(MAX(n.display_name), u.tenant) AS tenant_name,
  SUM(u.calls) AS calls,
  COALESCE(SUM(u.cost_e10) * 1e-10, 0)::float8 AS cost_usd,
  COALESCE(SUM(u.saved_e10) * 1e-10, 0)::float8 AS saved_usd,
  SUM(u.hits)::float8 / NULLIF(SUM(u.calls_proxy), 0) AS hit_ratio,
  COUNT(u.app_user) AS app_users
FROM u
LEFT JOIN tenant_names n ON n.tenant = u.tenant
GROUP BY u.tenant
ORDER BY cost_usd DESC, u.tenant
LIMIT 100;
