-- Performance page: end-to-end latency percentiles of the proxy's calls, one point per hour for
-- ranges up to 7 days and per UTC day beyond (latency histograms, call_log_latency_facts:
-- within 4.4 % of percentile_cont over the raw rows).
SELECT extract(epoch FROM t) AS "time", p[1] AS "p50", p[2] AS "p95", p[3] AS "p99"
FROM (
  SELECT t, tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin), '{0.5,0.95,0.99}') AS p
  FROM (
    SELECT tollgate_floor(CASE WHEN $__timeTo()::timestamptz - $__timeFrom()::timestamptz > interval '7 days' THEN 'day' ELSE 'hour' END, bucket) AS t,
           bin, SUM(latency) AS n
    FROM call_log_latency_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant],
                                CASE WHEN $__timeTo()::timestamptz - $__timeFrom()::timestamptz > interval '7 days' THEN 'day' ELSE 'hour' END, false)
    GROUP BY 1, 2
  ) h
  GROUP BY t
) s
WHERE p[1] IS NOT NULL
ORDER BY 1;
