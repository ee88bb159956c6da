-- Reference for tests/sql/queries.test.ts: this panel's query over the raw rows, as it was before
-- migration 021; the panel over the rollups must return exactly the same rows.
-- Stored responses (Idempotency-Key answers and key-less persona duplicates) per UTC day: the
-- design note's panel 3 with the filter bar. request_log has no model column, so a model selection
-- empties the panel rather than showing every model's.
SELECT
  $__timeGroupAlias(created_at, '1d'),
  COUNT(*) AS stored
FROM request_log
WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
  -- stored responses do not record their model: with a model selected they are left out
  AND '__all' IN ($model)
GROUP BY 1
ORDER BY 1;
