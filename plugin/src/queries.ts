// Every panel query, imported from sql/queries at build time: the same files the dashboard
// generator and the SQL tests read, so the text exists once.
import call_detail from '../../sql/queries/call_detail.sql';
import cache_top_entries from '../../sql/queries/cache_top_entries.sql';
import cost_saved_daily from '../../sql/queries/cost_saved_daily.sql';
import costs_by_endpoint from '../../sql/queries/costs_by_endpoint.sql';
import costs_calls from '../../sql/queries/costs_calls.sql';
import costs_daily_by_endpoint from '../../sql/queries/costs_daily_by_endpoint.sql';
import costs_models_in_endpoint from '../../sql/queries/costs_models_in_endpoint.sql';
import hit_ratio from '../../sql/queries/hit_ratio.sql';
import idem_replays_by_endpoint from '../../sql/queries/idem_replays_by_endpoint.sql';
import idem_replays_daily from '../../sql/queries/idem_replays_daily.sql';
import note_persona_cache_age_buckets from '../../sql/queries/note_persona_cache_age_buckets.sql';
import note_persona_cache_total from '../../sql/queries/note_persona_cache_total.sql';
import note_request_log_total from '../../sql/queries/note_request_log_total.sql';
import panel1_daily_cost_by_endpoint from '../../sql/queries/panel1_daily_cost_by_endpoint.sql';
import panel2_persona_cache_growth from '../../sql/queries/panel2_persona_cache_growth.sql';
import panel3_idempotent_requests from '../../sql/queries/panel3_idempotent_requests.sql';
import panel4_model_cost_breakdown from '../../sql/queries/panel4_model_cost_breakdown.sql';
import panel5_persona_hit_ratio_approx from '../../sql/queries/panel5_persona_hit_ratio_approx.sql';
import stat_calls from '../../sql/queries/stat_calls.sql';
import stat_cost_saved from '../../sql/queries/stat_cost_saved.sql';
import stat_hit_ratio from '../../sql/queries/stat_hit_ratio.sql';
import stat_total_cost from '../../sql/queries/stat_total_cost.sql';
import var_endpoint from '../../sql/queries/var_endpoint.sql';
import var_model from '../../sql/queries/var_model.sql';
import var_tenant from '../../sql/queries/var_tenant.sql';

export const QUERIES = {
  call_detail,
  cache_top_entries,
  cost_saved_daily,
  costs_by_endpoint,
  costs_calls,
  costs_daily_by_endpoint,
  costs_models_in_endpoint,
  hit_ratio,
  idem_replays_by_endpoint,
  idem_replays_daily,
  note_persona_cache_age_buckets,
  note_persona_cache_total,
  note_request_log_total,
  panel1_daily_cost_by_endpoint,
  panel2_persona_cache_growth,
  panel3_idempotent_requests,
  panel4_model_cost_breakdown,
  panel5_persona_hit_ratio_approx,
  stat_calls,
  stat_cost_saved,
  stat_hit_ratio,
  stat_total_cost,
  var_endpoint,
  var_model,
  var_tenant,
};

export type QueryName = keyof typeof QUERIES;
