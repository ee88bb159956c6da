-- Reference for tests/sql/queries.test.ts: this panel's query over the raw rows, as it was before
-- migration 021; the panel over the rollups must return exactly the same rows.
-- New persona cache entries per UTC day (the design note's panel 2 with the filter bar). Entries
-- belong to the personas.generate endpoint: another endpoint selected leaves the panel empty.
SELECT
  $__timeGroupAlias(created_at, '1d'),
  COUNT(*) AS new_entries
FROM persona_cache
WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR 'personas.generate' IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
GROUP BY 1
ORDER BY 1;
