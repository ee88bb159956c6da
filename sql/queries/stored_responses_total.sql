-- Stored responses in range, with the filter bar (a model selection empties it: request_log has
-- no model column). Cache-entry rollups (cache_entries_facts).
SELECT COALESCE(SUM(entries), 0) AS stored_responses
FROM cache_entries_facts('stored', $__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$tenant])
-- stored responses do not record their model: with a model selected they are left out
WHERE '__all' IN ($model);
