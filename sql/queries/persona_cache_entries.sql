-- Persona cache entries created in range (still cached: expired entries are deleted), with the
-- filter bar (endpoint: personas.generate).
SELECT COUNT(*) AS persona_cache_entries
FROM persona_cache
WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR 'personas.generate' IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant));
