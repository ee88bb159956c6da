-- Tenants page: spend inside the tenants by the app's own user (X-Tollgate-User or the request's
-- user field); calls without one are grouped as '(none)'. Attribution rollups: exact.
SELECT
  COALESCE(n.display_name, u.tenant) AS tenant_name,
  COALESCE(u.app_user, '(none)') AS app_user,
  u.calls,
  u.cost_usd
FROM (
  SELECT tenant, app_user, SUM(calls) AS calls, COALESCE(SUM(cost_e10) * 1e-10, 0)::float8 AS cost_usd
  FROM call_log_attr_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant], ARRAY[$app_user], ARRAY[$tag])
  GROUP BY tenant, app_user
  HAVING SUM(calls) <> 0
) u
-- names joined to the sums, not to every rollup row
LEFT JOIN tenant_names n ON n.tenant = u.tenant
ORDER BY u.cost_usd DESC, 1, 2
LIMIT 100;
