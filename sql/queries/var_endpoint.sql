-- Values of the endpoint variable (distinct values in the whole log). A recursive skip scan over the
-- (endpoint, created_at) index reads one index entry per value, where SELECT DISTINCT scans the log.
WITH RECURSIVE v AS (
  (SELECT endpoint FROM openai_call_log ORDER BY endpoint LIMIT 1)
  UNION ALL
  SELECT (SELECT endpoint FROM openai_call_log WHERE endpoint > v.endpoint ORDER BY endpoint LIMIT 1)
  FROM v
  WHERE v.endpoint IS NOT NULL
)
SELECT endpoint AS __text, endpoint AS __value FROM v WHERE endpoint IS NOT NULL ORDER BY 1;
