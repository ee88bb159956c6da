-- Reference for tests/sql/queries.test.ts: this panel's query over the raw rows, as it was before
-- migration 021; the panel over the rollups must return exactly the same rows.
-- Values of the Tenants page's tag variable: the tags (X-Tollgate-Tags or the request's metadata)
-- of calls in the time range, in the tenants the tenant filter selects.
SELECT DISTINCT t.tag AS __text, t.tag AS __value
FROM openai_call_log
CROSS JOIN LATERAL unnest(tags) AS t(tag)
WHERE $__timeFilter(created_at)
  AND tags IS NOT NULL
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
ORDER BY 1
LIMIT 1000;
