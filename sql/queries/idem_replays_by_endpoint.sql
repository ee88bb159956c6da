-- Idempotency page: replays and coalesced requests per endpoint, with what they saved.
SELECT
  endpoint,
  SUM(replays) AS replays,
  SUM(coalesced) AS coalesced,
  COALESCE((COALESCE(SUM(saved_replay_e10), 0) + COALESCE(SUM(saved_coal_e10), 0)) * 1e-10, 0)::float8 AS saved_usd
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant])
GROUP BY endpoint
HAVING SUM(replays) + SUM(coalesced) <> 0
ORDER BY SUM(replays) + SUM(coalesced) DESC, endpoint;
