-- Alert rule "Daily OpenAI spend over budget" (provisioning/alerting/tollgate-alerts.yaml): what
-- today (the UTC day) has cost so far, all tenants. The rule fires above its threshold.
SELECT COALESCE(SUM(cost_usd), 0)::float8 AS spend_today_usd
FROM openai_call_log
WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
