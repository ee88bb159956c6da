-- The call log: one row per request that reached the proxy.
-- The first seven columns are the design note's, with its names, so its queries run unchanged.
-- cost_usd is NUMERIC(18,10) instead of the note's NUMERIC(10,6): six decimals round a small
-- embeddings call (a few tokens at $0.02/1M) to exactly 0, and we promise never to log a silent 0.
CREATE TABLE IF NOT EXISTS openai_call_log (
  id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  endpoint          TEXT NOT NULL,
  model             TEXT NOT NULL,
  tokens_prompt     INT,
  tokens_completion INT,
  cost_usd          NUMERIC(18,10),
  created_at        TIMESTAMPTZ NOT NULL DEFAULT NOW(),

  request_id          TEXT NOT NULL,
  upstream_request_id TEXT,
  tenant              TEXT NOT NULL,
  method              TEXT NOT NULL DEFAULT 'POST',
  path                TEXT NOT NULL DEFAULT '',
  status_code         INT NOT NULL,
  stream              BOOLEAN NOT NULL DEFAULT FALSE,
  cache_status        TEXT NOT NULL DEFAULT 'bypass'
                      CHECK (cache_status IN ('miss', 'hit', 'idempotent_replay', 'coalesced', 'bypass')),
  tokens_cached       INT,
  tokens_reasoning    INT,
  cost_saved_usd      NUMERIC(18,10) NOT NULL DEFAULT 0,
  latency_ms          INT,
  ttfb_ms             INT,
  upstream_ms         INT,
  usage_source        TEXT NOT NULL DEFAULT 'none'
                      CHECK (usage_source IN ('reported', 'estimated', 'none')),
  client_aborted      BOOLEAN NOT NULL DEFAULT FALSE,
  error_type          TEXT
);

-- Every panel filters on a time range first; the composite ones serve the per-endpoint,
-- per-model and per-tenant drill-downs without a sort.
CREATE INDEX IF NOT EXISTS openai_call_log_created_at_idx ON openai_call_log (created_at);
CREATE INDEX IF NOT EXISTS openai_call_log_endpoint_created_at_idx ON openai_call_log (endpoint, created_at);
CREATE INDEX IF NOT EXISTS openai_call_log_model_created_at_idx ON openai_call_log (model, created_at);
CREATE INDEX IF NOT EXISTS openai_call_log_tenant_created_at_idx ON openai_call_log (tenant, created_at);
CREATE INDEX IF NOT EXISTS openai_call_log_request_id_idx ON openai_call_log (request_id);
