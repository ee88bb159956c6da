-- Values of the tenant variable: the tenants with calls in the time range at the selected
-- endpoints and models ('__each' asks call_log_facts for the per-tenant rollup rows), shown by the
-- name operators gave them (tenant_names) and keyed by the tenant itself.
SELECT DISTINCT f.tenant AS __value, COALESCE(n.display_name, f.tenant) AS __text
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY['__each']) AS f
LEFT JOIN tenant_names AS n ON n.tenant = f.tenant
ORDER BY 2;
