-- Overview stat: exact cache hit ratio, cache hits over the proxy's calls (0 when there are none).
-- Rows apps log themselves (cache_status 'external') are neither hits nor misses: left out.
SELECT COALESCE(SUM(hits)::float8 / NULLIF(SUM(calls_proxy), 0), 0) AS hit_ratio
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant]);
