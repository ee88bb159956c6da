-- New persona cache entries per UTC day (the design note's panel 2 with the filter bar). Entries
-- belong to the personas.generate endpoint: another endpoint selected leaves the panel empty.
-- Counted from the cache-entry rollups (cache_entries_facts, migration 021): the rows that exist.
SELECT
  $__timeGroupAlias(bucket, '1d'),
  SUM(entries) AS new_entries
FROM cache_entries_facts('persona', $__timeFrom(), $__timeTo(), ARRAY[$model], ARRAY[$tenant])
WHERE ('__all' IN ($endpoint) OR 'personas.generate' IN ($endpoint))
GROUP BY 1
HAVING SUM(entries) <> 0
ORDER BY 1;
