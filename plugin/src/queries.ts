// Every panel query, imported from sql/queries at build time: the same files the dashboard
// generator and the SQL tests read, so the text exists once.
import budget_daily_cumulative from '../../sql/queries/budget_daily_cumulative.sql';
import budget_month_to_date from '../../sql/queries/budget_month_to_date.sql';
import budget_tenants from '../../sql/queries/budget_tenants.sql';
import cache_top_entries from '../../sql/queries/cache_top_entries.sql';
import call_detail from '../../sql/queries/call_detail.sql';
import cost_saved_daily from '../../sql/queries/cost_saved_daily.sql';
import costs_by_endpoint from '../../sql/queries/costs_by_endpoint.sql';
import costs_calls from '../../sql/queries/costs_calls.sql';
import costs_daily_by_endpoint from '../../sql/queries/costs_daily_by_endpoint.sql';
import costs_models_in_endpoint from '../../sql/queries/costs_models_in_endpoint.sql';
import hit_ratio from '../../sql/queries/hit_ratio.sql';
import idem_replays_by_endpoint from '../../sql/queries/idem_replays_by_endpoint.sql';
import idem_replays_daily from '../../sql/queries/idem_replays_daily.sql';
import note_cost_by_endpoint_daily_30d from '../../sql/queries/note_cost_by_endpoint_daily_30d.sql';
import note_persona_cache_age_buckets from '../../sql/queries/note_persona_cache_age_buckets.sql';
import note_persona_cache_daily_30d from '../../sql/queries/note_persona_cache_daily_30d.sql';
import note_persona_cache_total from '../../sql/queries/note_persona_cache_total.sql';
import note_request_log_daily_30d from '../../sql/queries/note_request_log_daily_30d.sql';
import note_request_log_total from '../../sql/queries/note_request_log_total.sql';
import panel1_daily_cost_by_endpoint from '../../sql/queries/panel1_daily_cost_by_endpoint.sql';
import panel2_persona_cache_growth from '../../sql/queries/panel2_persona_cache_growth.sql';
import panel3_idempotent_requests from '../../sql/queries/panel3_idempotent_requests.sql';
import panel4_model_cost_breakdown from '../../sql/queries/panel4_model_cost_breakdown.sql';
import panel5_persona_hit_ratio_approx from '../../sql/queries/panel5_persona_hit_ratio_approx.sql';
import perf_by_endpoint_model from '../../sql/queries/perf_by_endpoint_model.sql';
import perf_error_rates from '../../sql/queries/perf_error_rates.sql';
import perf_latency from '../../sql/queries/perf_latency.sql';
import perf_summary from '../../sql/queries/perf_summary.sql';
import perf_ttfb_overhead from '../../sql/queries/perf_ttfb_overhead.sql';
import stat_calls from '../../sql/queries/stat_calls.sql';
import stat_cost_saved from '../../sql/queries/stat_cost_saved.sql';
import stat_hit_ratio from '../../sql/queries/stat_hit_ratio.sql';
import stat_total_cost from '../../sql/queries/stat_total_cost.sql';
import tenants_app_users from '../../sql/queries/tenants_app_users.sql';
import tenants_calls from '../../sql/queries/tenants_calls.sql';
import tenants_cost_daily from '../../sql/queries/tenants_cost_daily.sql';
import tenants_savings from '../../sql/queries/tenants_savings.sql';
import tenants_tags from '../../sql/queries/tenants_tags.sql';
import tenants_top_spenders from '../../sql/queries/tenants_top_spenders.sql';
import cost_by_model from '../../sql/queries/cost_by_model.sql';
import persona_cache_age_buckets from '../../sql/queries/persona_cache_age_buckets.sql';
import persona_cache_daily from '../../sql/queries/persona_cache_daily.sql';
import persona_cache_entries from '../../sql/queries/persona_cache_entries.sql';
import persona_hit_ratio from '../../sql/queries/persona_hit_ratio.sql';
import stored_responses_daily from '../../sql/queries/stored_responses_daily.sql';
import stored_responses_total from '../../sql/queries/stored_responses_total.sql';
import var_app_user from '../../sql/queries/var_app_user.sql';
import var_endpoint from '../../sql/queries/var_endpoint.sql';
import var_model from '../../sql/queries/var_model.sql';
import var_tag from '../../sql/queries/var_tag.sql';
import var_tenant from '../../sql/queries/var_tenant.sql';

export const QUERIES = {
  cost_by_model,
  persona_cache_age_buckets,
  persona_cache_daily,
  persona_cache_entries,
  persona_hit_ratio,
  stored_responses_daily,
  stored_responses_total,
  budget_daily_cumulative,
  budget_month_to_date,
  budget_tenants,
  cache_top_entries,
  call_detail,
  cost_saved_daily,
  costs_by_endpoint,
  costs_calls,
  costs_daily_by_endpoint,
  costs_models_in_endpoint,
  hit_ratio,
  idem_replays_by_endpoint,
  idem_replays_daily,
  note_cost_by_endpoint_daily_30d,
  note_persona_cache_age_buckets,
  note_persona_cache_daily_30d,
  note_persona_cache_total,
  note_request_log_daily_30d,
  note_request_log_total,
  panel1_daily_cost_by_endpoint,
  panel2_persona_cache_growth,
  panel3_idempotent_requests,
  panel4_model_cost_breakdown,
  panel5_persona_hit_ratio_approx,
  perf_by_endpoint_model,
  perf_error_rates,
  perf_latency,
  perf_summary,
  perf_ttfb_overhead,
  stat_calls,
  stat_cost_saved,
  stat_hit_ratio,
  stat_total_cost,
  tenants_app_users,
  tenants_calls,
  tenants_cost_daily,
  tenants_savings,
  tenants_tags,
  tenants_top_spenders,
  var_app_user,
  var_endpoint,
  var_model,
  var_tag,
  var_tenant,
};

export type QueryName = keyof typeof QUERIES;
