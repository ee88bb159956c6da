-- Design note panel 5: the approximate persona cache hit ratio, 1 - unique sets / persona calls
-- (as written). The exact ratio from cache_status is hit_ratio.sql.
WITH persona_calls AS (
  SELECT COUNT(*) AS num_calls
  FROM openai_call_log
  WHERE endpoint = 'personas.generate'
),
persona_misses AS (
  SELECT COUNT(*) AS num_unique_sets
  FROM persona_cache
)
SELECT
  num_calls,
  num_unique_sets,
  1.0 - (num_unique_sets::decimal / GREATEST(num_calls,1)) AS cache_hit_ratio
FROM persona_calls, persona_misses;
