-- Values of the tenant variable (distinct values in the whole log). A recursive skip scan over the
-- (tenant, created_at) index reads one index entry per value, where SELECT DISTINCT scans the log.
WITH RECURSIVE v AS (
  (SELECT tenant FROM openai_call_log ORDER BY tenant LIMIT 1)
  UNION ALL
  SELECT (SELECT tenant FROM openai_call_log WHERE tenant > v.tenant ORDER BY tenant LIMIT 1)
  FROM v
  WHERE v.tenant IS NOT NULL
)
SELECT tenant AS __text, tenant AS __value FROM v WHERE tenant IS NOT NULL ORDER BY 1;
