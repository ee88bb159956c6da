-- Tenants drill-down, one tenant: its calls, newest first (capped: a table, not an export).
SELECT
  created_at AS time,
  id::text AS call_id,
  endpoint,
  model,
  app_user,
  array_to_string(tags, ', ') AS tags,
  cache_status,
  status_code,
  cost_usd::float8 AS cost_usd,
  latency_ms
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND tenant = '${drill_tenant}'
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
  AND ('__all' IN ($app_user) OR app_user IN ($app_user))
  AND ('__all' IN ($tag) OR tags && ARRAY[$tag]::text[])
ORDER BY created_at DESC
LIMIT 500;
