-- Age of the persona cache entries created in range (the design note's 1.1 B with the time range
-- and filter bar), in the note's buckets.
SELECT age_bucket, COUNT(*) AS entries
FROM (
  SELECT CASE
           WHEN created_at >= NOW() - INTERVAL '1 day' THEN '0-1 days'
           WHEN created_at >= NOW() - INTERVAL '7 days' THEN '1-7 days'
           WHEN created_at >= NOW() - INTERVAL '30 days' THEN '7-30 days'
           ELSE '30+ days'
         END AS age_bucket
  FROM persona_cache
  WHERE $__timeFilter(created_at)
    AND ('__all' IN ($endpoint) OR 'personas.generate' IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
) aged
GROUP BY age_bucket
ORDER BY CASE age_bucket WHEN '0-1 days' THEN 1 WHEN '1-7 days' THEN 2 WHEN '7-30 days' THEN 3 ELSE 4 END;
