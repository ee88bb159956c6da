-- Tenants page: what the caches and idempotency saved each tenant (cost_saved_usd of hits,
-- replays and coalesced calls), biggest first. Exact: with nothing but tenants selected, the
-- per-tenant rollups (call_log_tenant_facts, one row per tenant and day); with an endpoint or model,
-- the per-tenant call-log rollups; with an app user or tag, the attribution rollups.
WITH f AS (
  SELECT tenant, calls, saved_e10, saved_hit_e10, saved_idem_e10
  FROM call_log_tenant_facts($__timeFrom(), $__timeTo(), ARRAY[$tenant])
  WHERE '__all' IN ($endpoint) AND '__all' IN ($model) AND '__all' IN ($app_user) AND '__all' IN ($tag)
  UNION ALL
  SELECT tenant, calls, saved_e10, COALESCE(saved_hit_e10, 0) AS saved_hit_e10,
         COALESCE(saved_replay_e10, 0) + COALESCE(saved_coal_e10, 0) AS saved_idem_e10
  FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY['__each'])
  WHERE NOT ('__all' IN ($endpoint) AND '__all' IN ($model)) AND '__all' IN ($app_user) AND '__all' IN ($tag)
    AND ('__all' IN ($tenant) OR tenant IN ($tenant))
  UNION ALL
  SELECT tenant, calls, saved_e10, saved_hit_e10, saved_idem_e10
  FROM call_log_attr_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant], ARRAY[$app_user], ARRAY[$tag])
  WHERE NOT ('__all' IN ($app_user) AND '__all' IN ($tag))
)
SELECT
  COALESCE(n.display_name, s.tenant) AS tenant_name,
  s.saved_by_cache_usd,
  s.saved_by_idempotency_usd
FROM (
  SELECT tenant, (SUM(saved_hit_e10) * 1e-10)::float8 AS saved_by_cache_usd,
         (SUM(saved_idem_e10) * 1e-10)::float8 AS saved_by_idempotency_usd, SUM(saved_e10) AS saved_e10
  FROM f
  GROUP BY tenant
  HAVING SUM(calls) <> 0
) s
-- names joined to the tenants' sums, not to every rollup row
LEFT JOIN tenant_names n ON n.tenant = s.tenant
ORDER BY s.saved_e10 DESC, s.tenant
LIMIT 20;
