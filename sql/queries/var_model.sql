-- Values of the model variable (distinct values in the whole log). A recursive skip scan over the
-- (model, created_at) index reads one index entry per value, where SELECT DISTINCT scans the log.
WITH RECURSIVE v AS (
  (SELECT model FROM openai_call_log ORDER BY model LIMIT 1)
  UNION ALL
  SELECT (SELECT model FROM openai_call_log WHERE model > v.model ORDER BY model LIMIT 1)
  FROM v
  WHERE v.model IS NOT NULL
)
SELECT model AS __text, model AS __value FROM v WHERE model IS NOT NULL ORDER BY 1;
