-- Values of the endpoint variable: the endpoints with calls in the time range (rollups, see
-- call_log_facts in migration 011).
SELECT DISTINCT endpoint AS __text, endpoint AS __value
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY['__all'], ARRAY['__all'], ARRAY['__all'])
ORDER BY 1;
