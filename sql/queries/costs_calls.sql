-- Costs drill-down, one endpoint and model: the calls, newest first (capped: a table, not an export).
-- The filter bar applies: its tenant selection, and its endpoint/model selections (which empty the
-- table unless they include this endpoint and model). Served by the day partitions'
-- (endpoint, model, created_at) index, newest partition first.
SELECT
  created_at AS time,
  id::text AS call_id,
  request_id,
  tenant,
  cache_status,
  status_code,
  tokens_prompt,
  tokens_completion,
  cost_usd::float8 AS cost_usd,
  latency_ms
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND endpoint = '${drill_endpoint}'
  AND model = '${drill_model}'
  AND ('__all' IN ($endpoint) OR '${drill_endpoint}' IN ($endpoint))
  AND ('__all' IN ($model) OR '${drill_model}' IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
ORDER BY created_at DESC
LIMIT 500;
