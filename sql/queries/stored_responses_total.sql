-- Stored responses in range, with the filter bar (a model selection empties it: request_log has
-- no model column).
SELECT COUNT(*) AS stored_responses
FROM request_log
WHERE $__timeFilter(created_at)
  AND ('__all' IN ($endpoint) OR endpoint IN ($endpoint))
  AND ('__all' IN ($tenant) OR tenant IN ($tenant))
  -- stored responses do not record their model: with a model selected they are left out
  AND '__all' IN ($model);
