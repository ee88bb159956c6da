import type { FieldConfigOverridesBuilder } from '@grafana/scenes';

/**
 * How a query column reads in a panel: its human name and its unit. The SQL keeps machine names
 * (`cost_usd`, `tokens_prompt`, shared with the dashboard generator and the SQL tests); every panel
 * applies this one table, so a legend or a column header never shows `cost_usd` or `value`.
 * A column missing here keeps its name: name it in the SQL as it should read.
 */
export const FIELDS: Record<string, { name: string; unit?: string }> = {
  time: { name: 'Time' },
  call_id: { name: 'Call' },
  created_at: { name: 'Time' },
  request_id: { name: 'Request id' },
  upstream_request_id: { name: 'Upstream request id' },
  tenant: { name: 'Tenant id' },
  tenant_name: { name: 'Tenant' },
  endpoint: { name: 'Endpoint' },
  model: { name: 'Model' },
  method: { name: 'Method' },
  path: { name: 'Path' },
  status_code: { name: 'HTTP status' },
  stream: { name: 'Streamed' },
  cache_status: { name: 'Cache' },
  usage_source: { name: 'Usage source' },
  client_aborted: { name: 'Caller left' },
  error_type: { name: 'Error' },
  app_user: { name: 'App user' },
  app_users: { name: 'App users', unit: 'short' },
  tags: { name: 'Tags' },
  tag: { name: 'Tag' },
  key: { name: 'Key' },
  calls: { name: 'Calls', unit: 'short' },
  hits: { name: 'Hits', unit: 'short' },
  replays: { name: 'Replays', unit: 'short' },
  coalesced: { name: 'Coalesced', unit: 'short' },
  hit_count: { name: 'Reuses', unit: 'short' },
  new_entries: { name: 'New entries', unit: 'short' },
  stored: { name: 'Stored responses', unit: 'short' },
  entries: { name: 'Entries', unit: 'short' },
  stored_responses: { name: 'Stored responses', unit: 'short' },
  requests: { name: 'Requests', unit: 'short' },
  requests_deduped: { name: 'Requests deduplicated', unit: 'short' },
  persona_cache_entries: { name: 'Persona cache entries', unit: 'short' },
  total_persona_cache_entries: { name: 'Persona cache entries', unit: 'short' },
  total_idempotent_entries: { name: 'Stored responses', unit: 'short' },
  num_calls: { name: 'Persona requests', unit: 'short' },
  num_unique_sets: { name: 'Distinct persona sets', unit: 'short' },
  age_bucket: { name: 'Age' },
  kind: { name: 'Kind' },
  day: { name: 'Day' },
  count: { name: 'Count', unit: 'short' },
  cost: { name: 'Cost', unit: 'currencyUSD' },
  tokens: { name: 'Tokens', unit: 'short' },
  tokens_prompt: { name: 'Prompt tokens', unit: 'short' },
  tokens_completion: { name: 'Completion tokens', unit: 'short' },
  tokens_cached: { name: 'Cached prompt tokens', unit: 'short' },
  tokens_reasoning: { name: 'Reasoning tokens', unit: 'short' },
  cost_usd: { name: 'Cost', unit: 'currencyUSD' },
  total_cost_usd: { name: 'Total cost', unit: 'currencyUSD' },
  total_cost: { name: 'Cost', unit: 'currencyUSD' },
  cost_saved_usd: { name: 'Saved', unit: 'currencyUSD' },
  saved_usd: { name: 'Saved', unit: 'currencyUSD' },
  saved_by_cache_usd: { name: 'Saved by cache', unit: 'currencyUSD' },
  saved_by_idempotency_usd: { name: 'Saved by idempotency', unit: 'currencyUSD' },
  month_to_date_usd: { name: 'Month to date', unit: 'currencyUSD' },
  projected_month_usd: { name: 'Projected month', unit: 'currencyUSD' },
  budget_usd: { name: 'Monthly budget', unit: 'currencyUSD' },
  budget_used: { name: 'Budget used', unit: 'percentunit' },
  hit_ratio: { name: 'Hit ratio', unit: 'percentunit' },
  cache_hit_ratio: { name: 'Hit ratio', unit: 'percentunit' },
  error_rate: { name: 'Errors', unit: 'percentunit' },
  rate_limited_rate: { name: 'Rate limited (429)', unit: 'percentunit' },
  client_abort_rate: { name: 'Client aborts', unit: 'percentunit' },
  latency_ms: { name: 'Latency', unit: 'ms' },
  ttfb_ms: { name: 'Time to first byte', unit: 'ms' },
  upstream_ms: { name: 'Upstream time', unit: 'ms' },
  latency_p50_ms: { name: 'Latency p50', unit: 'ms' },
  latency_p95_ms: { name: 'Latency p95', unit: 'ms' },
  latency_p99_ms: { name: 'Latency p99', unit: 'ms' },
  ttfb_p95_ms: { name: 'TTFB p95 (streams)', unit: 'ms' },
  overhead_p95_ms: { name: 'Proxy overhead p95', unit: 'ms' },
};

/** The display name of a column (its own name when FIELDS does not know it). */
export const fieldName = (column: string): string => FIELDS[column]?.name ?? column;

/** Overrides naming each known column and giving it its unit. */
export function humanize(b: FieldConfigOverridesBuilder<object>): void {
  for (const [column, { name, unit }] of Object.entries(FIELDS)) {
    const o = b.matchFieldsWithName(column).overrideDisplayName(name);
    if (unit) {
      o.overrideUnit(unit);
    }
  }
}
