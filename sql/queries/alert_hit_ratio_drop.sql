-- Alert rule "Cache hit ratio falling": the last hour's exact hit ratio (hits over the proxy's
-- calls) as a share of the previous 24 hours' ratio: 1 is unchanged, 0.5 halved. Empty (no data,
-- the rule stays quiet) with fewer than 50 calls in the hour or no hits the day before.
WITH w AS (
  SELECT
    COUNT(*) FILTER (WHERE created_at >= now() - interval '1 hour') AS calls_hour,
    COUNT(*) FILTER (WHERE created_at >= now() - interval '1 hour' AND cache_status = 'hit') AS hits_hour,
    COUNT(*) FILTER (WHERE created_at < now() - interval '1 hour') AS calls_day,
    COUNT(*) FILTER (WHERE created_at < now() - interval '1 hour' AND cache_status = 'hit') AS hits_day
  FROM openai_call_log
  WHERE created_at >= now() - interval '25 hours'
    AND cache_status <> 'external'
)
SELECT (hits_hour::float8 / calls_hour) / (hits_day::float8 / calls_day) AS hit_ratio_vs_day
FROM w
WHERE calls_hour >= 50 AND hits_day > 0;
