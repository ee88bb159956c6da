-- Design note 1.2: total deduped responses stored (as written).
SELECT COUNT(*) AS total_idempotent_entries
FROM request_log;
