-- Performance page: time to first byte of streamed calls, and the proxy's own overhead
-- (latency_ms - upstream_ms) of calls that went upstream, p50 and p95, one point per hour for ranges
-- up to 7 days and per UTC day beyond (latency histograms: within 4.4 % of percentile_cont).
SELECT extract(epoch FROM t) AS "time", ttfb[1] AS "TTFB p50", ttfb[2] AS "TTFB p95",
       overhead[1] AS "Overhead p50", overhead[2] AS "Overhead p95"
FROM (
  SELECT t,
         tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(ttfb ORDER BY bin), '{0.5,0.95}') AS ttfb,
         tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(overhead ORDER BY bin), '{0.5,0.95}') AS overhead,
         SUM(latency) AS calls
  FROM (
    SELECT tollgate_floor(CASE WHEN $__timeTo()::timestamptz - $__timeFrom()::timestamptz > interval '7 days' THEN 'day' ELSE 'hour' END, bucket) AS t,
           bin, SUM(latency) AS latency, SUM(ttfb) AS ttfb, SUM(overhead) AS overhead
    FROM call_log_latency_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant],
                                CASE WHEN $__timeTo()::timestamptz - $__timeFrom()::timestamptz > interval '7 days' THEN 'day' ELSE 'hour' END, false)
    GROUP BY 1, 2
  ) h
  GROUP BY t
) s
WHERE calls <> 0
ORDER BY 1;
