-- A row replayed from the spool (ON CONFLICT DO NOTHING) must never be doubled, also when its day
-- has no partition of its own and it lands in the DEFAULT partition: the same unique key as every
-- day partition (015 gives those theirs when it creates them).
CREATE UNIQUE INDEX IF NOT EXISTS openai_call_log_default_request_id_created_at_key
  ON openai_call_log_default (request_id, created_at);
