-- Stored answers are replayed byte for byte. jsonb reorders an object's members (shorter keys
-- first), so the exact body text is kept next to it: response_raw is what was sent (the upstream
-- JSON text, or Tollgate's own serialisation), replayed verbatim. response_json stays filled with
-- the same body for the monitoring queries; request_log.response_text keeps the recorded event
-- stream of a streamed answer, as before.
ALTER TABLE response_cache ADD COLUMN IF NOT EXISTS response_raw TEXT;
ALTER TABLE request_log ADD COLUMN IF NOT EXISTS response_raw TEXT;
-- The original call's usage (Tollgate's token counts) next to a stored response, so a replay's
-- call-log row carries the tokens it saved, as a response-cache hit's does.
ALTER TABLE request_log ADD COLUMN IF NOT EXISTS usage_json JSONB;
