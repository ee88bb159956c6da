-- Replicas hand each other a refused attempt's answer in NOTIFY payloads (proxy/src/db/wakeups.ts).
-- Any database user can send a NOTIFY, Grafana's read-only role included, so payloads carry an
-- HMAC under this secret: only the proxy's own role can read it (no grant to anyone else).
CREATE TABLE IF NOT EXISTS tollgate_secret (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO tollgate_secret (name, value)
VALUES ('notify_hmac', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))
ON CONFLICT (name) DO NOTHING;
