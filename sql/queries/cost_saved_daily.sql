-- Cost saved per UTC day, split by how it was saved (cache hit, idempotent replay, coalesced).
SELECT time, metric, (CASE WHEN SUM(saved_rows) <> 0 THEN SUM(saved) * 1e-10 END)::float8 AS saved_usd
FROM (
  SELECT $__timeGroup(bucket, '1d') AS time, kind.metric, kind.calls, kind.saved, kind.saved_rows
  FROM call_log_facts($__timeFrom(), $__timeTo(), ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant]) f
  CROSS JOIN LATERAL (VALUES ('hit', f.hits, f.saved_hit_e10, f.saved_hit_rows),
                             ('idempotent_replay', f.replays, f.saved_replay_e10, f.saved_replay_rows),
                             ('coalesced', f.coalesced, f.saved_coal_e10, f.saved_coal_rows)) AS kind (metric, calls, saved, saved_rows)
) s
GROUP BY 1, 2
HAVING SUM(calls) <> 0
ORDER BY 1, 2;
