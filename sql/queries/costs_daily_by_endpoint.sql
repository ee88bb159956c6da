-- Cost per UTC day and endpoint, with the page's filters (Overview and Costs).
SELECT
  $__timeGroupAlias(bucket, '1d'),
  endpoint AS metric,
  (CASE WHEN SUM(cost_rows) <> 0 THEN SUM(cost_e10) * 1e-10 END)::float8 AS cost_usd
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant])
GROUP BY 1, 2
HAVING SUM(calls) <> 0
ORDER BY 1, 2;
