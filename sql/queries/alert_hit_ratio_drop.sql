-- Alert rule "Cache hit ratio falling": the last hour's exact hit ratio (hits over the proxy's
-- calls) as a share of the previous 24 hours' ratio: 1 is unchanged, 0.5 halved. Empty (no data,
-- the rule stays quiet) with fewer than 50 calls in the hour or no hits the day before. Read from
-- the rollups and the raw rows of the partial hours (call_log_window_totals, migration 023).
SELECT (hour.hits::float8 / hour.calls_proxy) / (day.hits::float8 / day.calls_proxy) AS hit_ratio_vs_day
FROM call_log_window_totals(now() - interval '1 hour', 'infinity', 'hour') AS hour,
     call_log_window_totals(now() - interval '25 hours', now() - interval '1 hour' - interval '1 microsecond', 'hour') AS day
WHERE hour.calls_proxy >= 50 AND day.hits > 0;
