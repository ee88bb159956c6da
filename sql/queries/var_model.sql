-- Values of the model variable: the models with calls in the time range at the selected endpoints.
SELECT DISTINCT model AS __text, model AS __value
FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY['__all'], ARRAY['__all'])
ORDER BY 1;
