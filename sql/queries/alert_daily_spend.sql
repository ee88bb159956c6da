-- Alert rule "Daily OpenAI spend over budget" (provisioning/alerting/tollgate-alerts.yaml): what
-- today (the UTC day) has cost so far, all tenants. The rule fires above its threshold. Read from
-- the rollups (call_log_window_totals, migration 023, to 'infinity': today's daily row and the
-- deltas not folded yet, so rows dated ahead of the database clock count too, as on the raw log).
SELECT (COALESCE(cost_e10, 0) * 1e-10)::float8 AS spend_today_usd
FROM call_log_window_totals(tollgate_floor('day', now()), 'infinity');
