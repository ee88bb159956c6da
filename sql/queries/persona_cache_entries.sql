-- Persona cache entries created in range (still cached: expired entries are deleted), with the
-- filter bar (endpoint: personas.generate). Cache-entry rollups (cache_entries_facts).
SELECT COALESCE(SUM(entries), 0) AS persona_cache_entries
FROM cache_entries_facts('persona', $__timeFrom(), $__timeTo(), ARRAY[$model], ARRAY[$tenant])
WHERE ('__all' IN ($endpoint) OR 'personas.generate' IN ($endpoint));
