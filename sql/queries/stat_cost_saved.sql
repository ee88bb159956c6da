-- Overview stat: what the response/persona cache and idempotent replays saved, by kind.
SELECT
  COALESCE(SUM(cost_saved_usd) FILTER (WHERE cache_status = 'hit'), 0)::float8 AS saved_by_cache_usd,
  COALESCE(SUM(cost_saved_usd) FILTER (WHERE cache_status IN ('idempotent_replay', 'coalesced')), 0)::float8
    AS saved_by_idempotency_usd
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($model) OR model IN ($model))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant));
