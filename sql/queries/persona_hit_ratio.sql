-- The design note's approximate persona hit ratio (panel 5), 1 - new persona sets / persona calls,
-- over the time range and the filter bar (endpoint: personas.generate). The exact ratio is
-- stat_hit_ratio with the endpoint personas.generate. Both counts from rollups (call_log_facts,
-- cache_entries_facts).
WITH persona_calls AS (
  SELECT COALESCE(SUM(calls), 0) AS num_calls
  FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY['personas.generate'], ARRAY[$model], ARRAY[$tenant])
  WHERE ('__all' IN ($endpoint) OR 'personas.generate' IN ($endpoint))
),
persona_misses AS (
  SELECT COALESCE(SUM(entries), 0) AS num_unique_sets
  FROM cache_entries_facts('persona', $__timeFrom(), $__timeTo(), ARRAY[$model], ARRAY[$tenant])
  WHERE ('__all' IN ($endpoint) OR 'personas.generate' IN ($endpoint))
)
SELECT
  num_calls,
  num_unique_sets,
  CASE WHEN num_calls > 0 THEN 1.0 - (num_unique_sets::float8 / num_calls) END AS cache_hit_ratio
FROM persona_calls, persona_misses;
