-- Persona generations, keyed per caller by a hash of what determines the personas.
CREATE TABLE IF NOT EXISTS persona_cache (
  id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  input_hash    TEXT NOT NULL,
  personas_json JSONB NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  tenant        TEXT NOT NULL,
  model         TEXT NOT NULL,
  cost_usd      NUMERIC(18,10),
  hit_count     INT NOT NULL DEFAULT 0,
  last_hit_at   TIMESTAMPTZ,
  expires_at    TIMESTAMPTZ NOT NULL,
  UNIQUE (tenant, input_hash)
);
CREATE INDEX IF NOT EXISTS persona_cache_created_at_idx ON persona_cache (created_at);
CREATE INDEX IF NOT EXISTS persona_cache_expires_at_idx ON persona_cache (expires_at);

-- Stored first responses for idempotency keys and for key-less duplicate detection.
-- request_hash is the lookup key within a tenant (a hash of the Idempotency-Key, or of the
-- canonical request when there is none); fingerprint is the hash of the request itself, so the
-- same key with another request is told apart (422).
CREATE TABLE IF NOT EXISTS request_log (
  id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  request_hash     TEXT NOT NULL,
  response_json    JSONB,
  created_at       TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  tenant           TEXT NOT NULL,
  key_hash         TEXT,
  fingerprint      TEXT NOT NULL,
  method           TEXT NOT NULL DEFAULT 'POST',
  path             TEXT NOT NULL,
  endpoint         TEXT NOT NULL,
  state            TEXT NOT NULL DEFAULT 'in_progress' CHECK (state IN ('in_progress', 'completed')),
  status_code      INT,
  content_type     TEXT,
  response_headers JSONB,
  response_text    TEXT,
  cost_usd         NUMERIC(18,10),
  lease_until      TIMESTAMPTZ,
  completed_at     TIMESTAMPTZ,
  expires_at       TIMESTAMPTZ NOT NULL,
  replay_count     INT NOT NULL DEFAULT 0,
  last_replayed_at TIMESTAMPTZ,
  UNIQUE (tenant, request_hash)
);
CREATE INDEX IF NOT EXISTS request_log_created_at_idx ON request_log (created_at);
CREATE INDEX IF NOT EXISTS request_log_expires_at_idx ON request_log (expires_at);

-- Opt-in exact-match cache for /v1/chat/completions, /v1/responses and /v1/embeddings.
CREATE TABLE IF NOT EXISTS response_cache (
  id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant        TEXT NOT NULL,
  cache_key     TEXT NOT NULL,
  path          TEXT NOT NULL,
  endpoint      TEXT NOT NULL,
  model         TEXT NOT NULL,
  status_code   INT NOT NULL,
  response_json JSONB NOT NULL,
  usage_json    JSONB,
  cost_usd      NUMERIC(18,10),
  created_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  expires_at    TIMESTAMPTZ NOT NULL,
  hit_count     INT NOT NULL DEFAULT 0,
  last_hit_at   TIMESTAMPTZ,
  UNIQUE (tenant, cache_key)
);
CREATE INDEX IF NOT EXISTS response_cache_expires_at_idx ON response_cache (expires_at);

-- Single flight across replicas: the process that inserts the row makes the upstream call,
-- the others wait for the result. lease_until lets a waiter take over from a crashed owner.
CREATE TABLE IF NOT EXISTS inflight_request (
  scope       TEXT NOT NULL,
  key         TEXT NOT NULL,
  owner       TEXT NOT NULL,
  started_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  lease_until TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (scope, key)
);
