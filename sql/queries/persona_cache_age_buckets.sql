-- Age of the persona cache entries created in range (the design note's 1.1 B with the time range
-- and filter bar), in the note's buckets: each bucket is the part of the range it covers, counted
-- from the cache-entry rollups (cache_entries_facts; its ends are inclusive, so a bucket's open
-- end is one microsecond before the next bucket's start).
SELECT b.age_bucket, SUM(f.entries) AS entries
FROM (VALUES (1, '0-1 days', NOW() - INTERVAL '1 day', 'infinity'::timestamptz),
             (2, '1-7 days', NOW() - INTERVAL '7 days', NOW() - INTERVAL '1 day'),
             (3, '7-30 days', NOW() - INTERVAL '30 days', NOW() - INTERVAL '7 days'),
             (4, '30+ days', '-infinity'::timestamptz, NOW() - INTERVAL '30 days')) AS b (ord, age_bucket, lo, hi)
CROSS JOIN LATERAL cache_entries_facts('persona', GREATEST(b.lo, $__timeFrom()), LEAST(b.hi - INTERVAL '1 microsecond', $__timeTo()),
                                       ARRAY[$model], ARRAY[$tenant]) AS f
WHERE ('__all' IN ($endpoint) OR 'personas.generate' IN ($endpoint))
GROUP BY b.ord, b.age_bucket
HAVING SUM(f.entries) <> 0
ORDER BY b.ord;
