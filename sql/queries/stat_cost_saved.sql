-- Overview stat: what the response/persona cache and idempotent replays saved, by kind.
SELECT
  COALESCE(SUM(saved_hit_e10) * 1e-10, 0)::float8 AS saved_by_cache_usd,
  COALESCE((COALESCE(SUM(saved_replay_e10), 0) + COALESCE(SUM(saved_coal_e10), 0)) * 1e-10, 0)::float8
    AS saved_by_idempotency_usd
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant]);
