-- The alert rules' windows are relative to now(), which the planner cannot fold to a constant:
-- call_log_facts over such a window is planned against every partition of the log (its raw branch
-- is pruned only when the query runs), hundreds of milliseconds of planning for a few milliseconds of
-- work. call_log_window_totals runs the same sums with the window's bounds as literals (EXECUTE), so
-- only the partitions of the window are planned. Every tenant, endpoint and model.
CREATE OR REPLACE FUNCTION call_log_window_totals(t_from timestamptz, t_to timestamptz, grain text DEFAULT 'day')
RETURNS TABLE (calls numeric, calls_proxy numeric, hits numeric, cost_e10 numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'SELECT COALESCE(SUM(calls), 0), COALESCE(SUM(calls_proxy), 0), COALESCE(SUM(hits), 0), SUM(cost_e10)
       FROM call_log_facts(%L, %L, ARRAY[''__all''], ARRAY[''__all''], ARRAY[''__all''], %L)', t_from, t_to, grain);
END
$$;
