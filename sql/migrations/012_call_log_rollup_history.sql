-- Rolls up the rows already in openai_call_log when 011 went in, without blocking writers.
--
-- Since 011 committed, every new write adds its own delta to call_log_pending. This one statement
-- runs on one snapshot: it deletes the deltas that snapshot sees and replaces them by the sums of
-- every row that snapshot sees. A row is visible in the snapshot exactly when its delta is (they
-- committed together), or it predates 011 and has no delta; a row committed after the snapshot
-- keeps its delta. So every row is counted once, while other replicas keep writing: the statement
-- only reads openai_call_log (ACCESS SHARE) and appends to call_log_pending.
-- The fold runs next, in this transaction, under the fold's advisory lock.
SELECT pg_advisory_xact_lock(7346221002);

WITH visible_deltas AS (
  DELETE FROM call_log_pending RETURNING 1
)
INSERT INTO call_log_pending
SELECT tollgate_floor('hour', created_at), endpoint, model, tenant,
       count(*), count(*) FILTER (WHERE cache_status <> 'external'),
       count(*) FILTER (WHERE cache_status = 'hit'),
       count(*) FILTER (WHERE cache_status = 'idempotent_replay'),
       count(*) FILTER (WHERE cache_status = 'coalesced'),
       COALESCE(sum(cost_usd), 0), count(cost_usd),
       COALESCE(sum(cost_saved_usd), 0),
       COALESCE(sum(cost_saved_usd) FILTER (WHERE cache_status = 'hit'), 0),
       count(cost_saved_usd) FILTER (WHERE cache_status = 'hit'),
       COALESCE(sum(cost_saved_usd) FILTER (WHERE cache_status = 'idempotent_replay'), 0),
       count(cost_saved_usd) FILTER (WHERE cache_status = 'idempotent_replay'),
       COALESCE(sum(cost_saved_usd) FILTER (WHERE cache_status = 'coalesced'), 0),
       count(cost_saved_usd) FILTER (WHERE cache_status = 'coalesced'),
       COALESCE(sum(tokens_prompt), 0), COALESCE(sum(tokens_completion), 0)
  FROM openai_call_log
 GROUP BY 1, 2, 3, 4;

-- The advisory lock is this transaction's already; the fold's own try-lock succeeds (re-entrant).
SELECT tollgate_call_log_fold(2147483647);
