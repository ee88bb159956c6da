-- Cache page: the most reused entries of both caches (persona and response) created in range, by
-- hit count, with the filter bar (persona entries belong to the personas.generate endpoint).
SELECT kind, tenant, model, key, hit_count, cost_usd, saved_usd, created_at, last_hit_at
FROM (
  (SELECT 'persona' AS kind, tenant, model, input_hash AS key, hit_count,
          cost_usd::float8 AS cost_usd, (cost_usd * hit_count)::float8 AS saved_usd, created_at, last_hit_at
   FROM persona_cache
   WHERE hit_count > 0 AND $__timeFilter(created_at)
     AND ('__all' IN ($endpoint) OR 'personas.generate' IN ($endpoint))
     AND ('__all' IN ($model) OR model IN ($model))
     AND ('__all' IN ($tenant) OR tenant IN ($tenant))
   ORDER BY hit_count DESC
   LIMIT 20)
  UNION ALL
  (SELECT 'response', tenant, model, cache_key, hit_count,
          cost_usd::float8, (cost_usd * hit_count)::float8, created_at, last_hit_at
   FROM response_cache
   WHERE hit_count > 0 AND $__timeFilter(created_at)
     AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
     AND ('__all' IN ($model) OR model IN ($model))
     AND ('__all' IN ($tenant) OR tenant IN ($tenant))
   ORDER BY hit_count DESC
   LIMIT 20)
) top
ORDER BY hit_count DESC, kind, key
LIMIT 20;
