-- Values of the tenant variable: the tenants with calls in the time range at the selected
-- endpoints and models, shown by the name operators gave them (tenant_names) and keyed by the
-- tenant itself. With every endpoint and model, the per-tenant rollups (call_log_tenant_facts: one
-- row per tenant and day); otherwise the per-tenant call-log rollup rows ('__each').
SELECT DISTINCT f.tenant AS __value, COALESCE(n.display_name, f.tenant) AS __text
FROM (
  SELECT tenant FROM call_log_tenant_facts($__timeFrom(), $__timeTo(), ARRAY['__all'])
  WHERE '__all' IN ($endpoint) AND '__all' IN ($model)
  UNION ALL
  SELECT tenant FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY['__each'])
  WHERE NOT ('__all' IN ($endpoint) AND '__all' IN ($model))
) AS f
LEFT JOIN tenant_names AS n ON n.tenant = f.tenant
ORDER BY 2;
