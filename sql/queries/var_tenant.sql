-- Values of the tenant variable: the tenants with calls in the time range at the selected
-- endpoints and models ('__each' asks call_log_facts for the per-tenant rollup rows).
SELECT DISTINCT tenant AS __text, tenant AS __value
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY['__each'])
ORDER BY 1;
