-- Reference for tests/sql/queries.test.ts: this panel's query over the raw rows, as it was before
-- migration 021; the panel over the rollups must return exactly the same rows.
-- Tenants page: spend by tag (X-Tollgate-Tags or the request's metadata as key:value). A call
-- with several tags counts under each, so the rows do not add up to the total.
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
  t.tag,
  COUNT(*) AS calls,
  COALESCE(SUM(c.cost_usd), 0)::float8 AS cost_usd
FROM calls c
CROSS JOIN LATERAL unnest(COALESCE(c.tags, ARRAY['(untagged)'])) AS t(tag)
GROUP BY t.tag
ORDER BY cost_usd DESC, t.tag
LIMIT 100;
