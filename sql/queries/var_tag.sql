-- Values of the Tenants page's tag variable: the tags (X-Tollgate-Tags or the request's metadata)
-- of calls in the time range, in the tenants the tenant filter selects (attribution rollups).
SELECT t.tag AS __text, t.tag AS __value
FROM (
  -- summed per tag set first: a handful of sets to unnest, not every rollup row
  SELECT tags, SUM(calls) AS calls
  FROM call_log_attr_facts($__timeFrom(), $__timeTo(), ARRAY['__all'], ARRAY['__all'], ARRAY[$tenant], ARRAY['__all'], ARRAY['__all'])
  WHERE tags IS NOT NULL
  GROUP BY tags
) s
CROSS JOIN LATERAL unnest(s.tags) AS t(tag)
GROUP BY t.tag
HAVING SUM(s.calls) <> 0
ORDER BY 1
LIMIT 1000;
