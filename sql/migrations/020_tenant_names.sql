-- Who spends, beyond the key hash.
--
-- tenant_names: operators give a tenant (the `t_<hash>` of a key, 'anonymous' or 'external') a
-- readable name and, optionally, a monthly budget the Tenants page and the budget alert compare
-- spend against. The proxy owns the table; `npm run tenants:load -- <file>` provisions it from a
-- JSON file (provisioning/tenants/tenant-names.example.json). Grafana only reads it.
CREATE TABLE IF NOT EXISTS tenant_names (
  tenant             TEXT PRIMARY KEY,
  display_name       TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  monthly_budget_usd NUMERIC(18,6) CHECK (monthly_budget_usd IS NULL OR monthly_budget_usd >= 0),
  updated_at         TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
GRANT SELECT ON tenant_names TO tollgate_grafana;

-- Attribution inside a tenant: an app's own user id (X-Tollgate-User, else the request's `user`
-- field) and tags (X-Tollgate-Tags, else the request's `metadata` as key:value). Nullable and
-- without defaults, so the design note's five-column insert and every older row stay as they are.
-- ALTER TABLE on the parent reaches every partition, if the log is partitioned by then.
ALTER TABLE openai_call_log ADD COLUMN IF NOT EXISTS app_user TEXT;
ALTER TABLE openai_call_log ADD COLUMN IF NOT EXISTS tags TEXT[];
