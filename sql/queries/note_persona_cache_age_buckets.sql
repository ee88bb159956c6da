-- Design note 1.1 B: age distribution of persona cache entries.
-- Fixed minimally: as written, ORDER BY CASE age_bucket ... fails in PostgreSQL with
-- 'column "age_bucket" does not exist', because an output-column alias may be used in ORDER BY
-- only on its own, never inside an expression. The note's SELECT is wrapped unchanged in a
-- subquery so that age_bucket is a real column for the ORDER BY.
SELECT age_bucket, count
FROM (
  SELECT
    CASE
      WHEN created_at >= NOW() - INTERVAL '1 day' THEN '0-1 days'
      WHEN created_at >= NOW() - INTERVAL '7 days' THEN '1-7 days'
      WHEN created_at >= NOW() - INTERVAL '30 days' THEN '7-30 days'
      ELSE '30+ days'
    END AS age_bucket,
    COUNT(*) AS count
  FROM persona_cache
  GROUP BY age_bucket
) buckets
ORDER BY
  CASE age_bucket
    WHEN '0-1 days' THEN 1
    WHEN '1-7 days' THEN 2
    WHEN '7-30 days' THEN 3
    ELSE 4
  END;
