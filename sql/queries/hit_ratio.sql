-- Exact cache hit ratio per UTC day: hits over the proxy's calls, from cache_status. Rows apps log
-- themselves (cache_status 'external') are neither hits nor misses: left out, so a day with only
-- those has no point rather than a ratio of 0.
SELECT
  $__timeGroupAlias(bucket, '1d'),
  SUM(hits)::float8 / SUM(calls_proxy) AS hit_ratio
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant])
GROUP BY 1
HAVING SUM(calls_proxy) <> 0
ORDER BY 1;
