-- Performance page: share of the proxy's calls that failed (400 and above, not the caller
-- leaving), were rate limited (429) or were abandoned by the caller, one point per hour for ranges
-- up to 7 days and per UTC day beyond (exact, call_log_facts).
SELECT
  extract(epoch FROM tollgate_floor(CASE WHEN $__timeTo()::timestamptz - $__timeFrom()::timestamptz > interval '7 days' THEN 'day' ELSE 'hour' END, bucket)) AS "time",
  SUM(errors)::float8 / SUM(calls_proxy) AS "Errors",
  SUM(rate_limited)::float8 / SUM(calls_proxy) AS "Rate limited (429)",
  SUM(aborted)::float8 / SUM(calls_proxy) AS "Client aborts"
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant],
                    CASE WHEN $__timeTo()::timestamptz - $__timeFrom()::timestamptz > interval '7 days' THEN 'day' ELSE 'hour' END)
GROUP BY 1
HAVING SUM(calls_proxy) <> 0
ORDER BY 1;
