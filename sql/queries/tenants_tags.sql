-- Tenants page: spend by tag (X-Tollgate-Tags or the request's metadata as key:value). A call
-- with several tags counts under each, so the rows do not add up to the total. The attribution
-- rollups keep each call's whole tag set: exact.
SELECT
  t.tag,
  SUM(s.calls) AS calls,
  COALESCE(SUM(s.cost_e10) * 1e-10, 0)::float8 AS cost_usd
FROM (
  -- summed per tag set first: a handful of sets to unnest, not every rollup row
  SELECT tags, SUM(calls) AS calls, SUM(cost_e10) AS cost_e10
  FROM call_log_attr_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant], ARRAY[$app_user], ARRAY[$tag])
  GROUP BY tags
) s
CROSS JOIN LATERAL unnest(COALESCE(s.tags, ARRAY['(untagged)'])) AS t(tag)
GROUP BY t.tag
HAVING SUM(s.calls) <> 0
ORDER BY cost_usd DESC, t.tag
LIMIT 100;
