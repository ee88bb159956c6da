-- Alert rule "Upstream error rate rising": the share of the last 15 minutes' calls that went
-- upstream (misses and bypasses, not served from a cache) and came back 5xx or 429. Calls the
-- caller abandoned are not the upstream's fault and are left out. Empty below 20 calls.
SELECT (COUNT(*) FILTER (WHERE status_code >= 500 OR status_code = 429))::float8 / COUNT(*) AS upstream_error_rate
FROM openai_call_log
WHERE created_at >= now() - interval '15 minutes'
  AND cache_status IN ('miss', 'bypass')
  AND NOT client_aborted
HAVING COUNT(*) >= 20;
