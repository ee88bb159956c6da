-- Overview stat: calls logged in range, the proxy's and those apps log themselves
-- (cache_status 'external').
SELECT COALESCE(SUM(calls), 0) AS calls
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant]);
