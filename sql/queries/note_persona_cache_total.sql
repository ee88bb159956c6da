-- Design note 1.1 A: total cache entries (as written).
SELECT COUNT(*) AS total_persona_cache_entries
FROM persona_cache;
