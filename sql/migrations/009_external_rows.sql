-- Rows written by apps themselves, with the design note's own helper (section 1.3, logOpenAICall):
-- it inserts only endpoint, model, tokens_prompt, tokens_completion and cost_usd and lets id and
-- created_at default. Every other column now has a default (or is nullable), so that insert works:
--   request_id    a generated id (the proxy always sets its own)
--   tenant        'external': not a caller of the proxy (proxy tenants are 't_<hash>' or 'anonymous')
--   status_code   200: the app logs a call once it has completed
--   cache_status  'external', a new value: the row came from outside the proxy. Cost, model,
--                 endpoint and call-count panels count it like any call; hit ratios count it
--                 neither as a hit nor as a miss (sql/queries leave it out of the denominator).
-- The rest already had one: method 'POST', path '', stream false, cost_saved_usd 0 (a real upstream
-- call saved nothing), usage_source 'none' (the proxy read no usage: the tokens and cost are the
-- app's own figures), client_aborted false; the other columns are nullable.
-- The proxy's writer (proxy/src/log/callLog.ts) names every column in its INSERT, so none of these
-- defaults ever applies to a row the proxy writes.
ALTER TABLE openai_call_log ALTER COLUMN request_id SET DEFAULT gen_random_uuid()::text;
ALTER TABLE openai_call_log ALTER COLUMN tenant SET DEFAULT 'external';
ALTER TABLE openai_call_log ALTER COLUMN status_code SET DEFAULT 200;

-- 001 declared the check inline, so PostgreSQL named it <table>_<column>_check. Dropped without
-- IF EXISTS on purpose: under another name the old check would stay and reject 'external'.
-- Re-adding it checks the existing rows once; they all pass, the old set being a subset.
ALTER TABLE openai_call_log DROP CONSTRAINT openai_call_log_cache_status_check;
ALTER TABLE openai_call_log ADD CONSTRAINT openai_call_log_cache_status_check
  CHECK (cache_status IN ('miss', 'hit', 'idempotent_replay', 'coalesced', 'bypass', 'external'));
ALTER TABLE openai_call_log ALTER COLUMN cache_status SET DEFAULT 'external';
