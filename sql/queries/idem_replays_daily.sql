-- Idempotency page: replays of a stored response and coalesced duplicates, per UTC day.
SELECT time, metric, SUM(requests) AS requests
FROM (
  SELECT $__timeGroup(bucket, '1d') AS time, kind.metric, kind.requests
  FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant]) f
  CROSS JOIN LATERAL (VALUES ('idempotent_replay', f.replays), ('coalesced', f.coalesced)) AS kind (metric, requests)
) s
GROUP BY 1, 2
HAVING SUM(requests) <> 0
ORDER BY 1, 2;
