-- Indexes for the Grafana panel queries (sql/queries), chosen with sql/explain.ts on 3M calls
-- (last-30-days range, about 250k calls in range). The time-range aggregations already use
-- openai_call_log_created_at_idx (001) and the variable queries the (endpoint|model|tenant,
-- created_at) indexes; these two cover the queries that had none.
-- The all-time model breakdown (design note panel 4) reads only this index: 1207 ms -> 835 ms.
CREATE INDEX IF NOT EXISTS openai_call_log_model_cost_idx ON openai_call_log (model) INCLUDE (cost_usd);
-- "Most reused entries": the top of each cache by hit count without sorting it: 484 ms -> 1 ms.
CREATE INDEX IF NOT EXISTS persona_cache_hit_count_idx ON persona_cache (hit_count DESC) WHERE hit_count > 0;
CREATE INDEX IF NOT EXISTS response_cache_hit_count_idx ON response_cache (hit_count DESC) WHERE hit_count > 0;
