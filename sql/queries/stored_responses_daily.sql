-- Stored responses (Idempotency-Key answers and key-less persona duplicates) per UTC day: the
-- design note's panel 3 with the filter bar. request_log has no model column, so a model selection
-- empties the panel rather than showing every model's. Cache-entry rollups (cache_entries_facts).
SELECT
  $__timeGroupAlias(bucket, '1d'),
  SUM(entries) AS stored
FROM cache_entries_facts('stored', $__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$tenant])
-- stored responses do not record their model: with a model selected they are left out
WHERE '__all' IN ($model)
GROUP BY 1
HAVING SUM(entries) <> 0
ORDER BY 1;
