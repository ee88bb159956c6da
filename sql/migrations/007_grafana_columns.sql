-- Grafana's role reads the caches' bookkeeping, not their contents. Any Grafana Viewer can send raw
-- SQL through a datasource, so table-wide SELECT on the caches would show every tenant's cached
-- prompts and answers (personas_json, response_json, response_text, response_raw, sse_text,
-- response_headers). Column grants keep exactly what sql/queries reads; openai_call_log holds no
-- bodies and stays readable whole.
REVOKE SELECT ON persona_cache, request_log, response_cache FROM tollgate_grafana;
GRANT SELECT (id, tenant, model, input_hash, cost_usd, hit_count, created_at, last_hit_at, expires_at)
  ON persona_cache TO tollgate_grafana;
GRANT SELECT (id, tenant, endpoint, state, status_code, cost_usd, created_at, completed_at, expires_at,
              replay_count, last_replayed_at)
  ON request_log TO tollgate_grafana;
GRANT SELECT (id, tenant, endpoint, model, cache_key, status_code, cost_usd, hit_count, created_at,
              last_hit_at, expires_at)
  ON response_cache TO tollgate_grafana;

-- The role's default_transaction_read_only (003) is a default it may switch off for its own session;
-- what it can touch is set by these grants alone: no table, sequence or schema is writable to it.
-- (It keeps PUBLIC's TEMP right on the database: session-private tables, no shared data.)
