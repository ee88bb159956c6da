-- Costs drill-down, one call: everything the log knows about it, whatever the time range.
SELECT
  id::text AS call_id,
  created_at,
  request_id,
  upstream_request_id,
  tenant,
  endpoint,
  model,
  method,
  path,
  status_code,
  stream,
  cache_status,
  tokens_prompt,
  tokens_completion,
  tokens_cached,
  tokens_reasoning,
  cost_usd::float8 AS cost_usd,
  cost_saved_usd::float8 AS cost_saved_usd,
  latency_ms,
  ttfb_ms,
  upstream_ms,
  usage_source,
  client_aborted,
  error_type
FROM openai_call_log
WHERE id = '${call_id}'::uuid;
