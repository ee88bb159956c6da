-- Reference for tests/sql/queries.test.ts: this panel's query over the raw rows, as it was before
-- migration 021; the panel over the rollups must return exactly the same rows.
-- Tenants page: what the caches and idempotency saved each tenant (cost_saved_usd of hits,
-- replays and coalesced calls), biggest first.
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
  COALESCE(SUM(c.cost_saved_usd) FILTER (WHERE c.cache_status = 'hit'), 0)::float8 AS saved_by_cache_usd,
  COALESCE(SUM(c.cost_saved_usd) FILTER (WHERE c.cache_status IN ('idempotent_replay', 'coalesced')), 0)::float8 AS saved_by_idempotency_usd
FROM calls c
LEFT JOIN tenant_names n ON n.tenant = c.tenant
GROUP BY c.tenant
ORDER BY COALESCE(SUM(c.cost_saved_usd), 0) DESC, c.tenant
LIMIT 20;
