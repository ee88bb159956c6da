-- request_id becomes unique, so a row replayed from the proxy's local spool (after a crash or a
-- database outage, proxy/src/log/spool.ts) is never doubled: the writer inserts with
-- ON CONFLICT DO NOTHING and no conflict target, which keeps working under any unique index
-- that contains request_id (a later partitioned table's (request_id, created_at) included).
-- Rows written by apps with the design note's logOpenAICall get 009's generated default
-- (gen_random_uuid()::text), unique like the proxy's own ids.
--
-- Doubles written before this migration (a batch retried after a lost acknowledgement) would stop
-- the index from being built: the copies beyond the first of each request_id are removed first.
DELETE FROM openai_call_log a
 USING openai_call_log b
 WHERE a.request_id = b.request_id
   AND (a.created_at, a.id) > (b.created_at, b.id);

CREATE UNIQUE INDEX IF NOT EXISTS openai_call_log_request_id_key ON openai_call_log (request_id);
DROP INDEX IF EXISTS openai_call_log_request_id_idx;
