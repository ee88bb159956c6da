-- Reference for tests/sql/queries.test.ts: this panel's query over the raw rows, as it was before
-- migration 021; the panel over the rollups must return exactly the same rows.
-- Values of the Tenants page's app user variable: the app users (X-Tollgate-User or the request's
-- user field) with calls in the time range, in the tenants the tenant filter selects.
SELECT DISTINCT app_user AS __text, app_user AS __value
FROM openai_call_log
WHERE $__timeFilter(created_at)
  AND app_user IS NOT NULL
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
ORDER BY 1
LIMIT 1000;
