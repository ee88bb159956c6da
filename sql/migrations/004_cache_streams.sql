-- The response cache keeps the recorded event stream of a streamed answer next to its JSON form,
-- so a streaming hit replays exactly what upstream sent (same chunks, same usage chunk), and the
-- replayable upstream headers (x-request-id, openai-processing-ms, ...).
ALTER TABLE response_cache ADD COLUMN IF NOT EXISTS sse_text TEXT;
ALTER TABLE response_cache ADD COLUMN IF NOT EXISTS response_headers JSONB;
-- Cleanup of abandoned single-flight rows scans by lease.
CREATE INDEX IF NOT EXISTS inflight_request_lease_until_idx ON inflight_request (lease_until);
