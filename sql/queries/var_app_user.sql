-- Values of the Tenants page's app user variable: the app users (X-Tollgate-User or the request's
-- user field) with calls in the time range, in the tenants the tenant filter selects (attribution
-- rollups).
SELECT app_user AS __text, app_user AS __value
FROM call_log_attr_facts($__timeFrom(), $__timeTo(), ARRAY['__all'], ARRAY['__all'], ARRAY[$tenant], ARRAY['__all'], ARRAY['__all'])
WHERE app_user IS NOT NULL
GROUP BY app_user
HAVING SUM(calls) <> 0
ORDER BY 1
LIMIT 1000;
