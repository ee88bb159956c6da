import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';

export interface CleanupResult {
  responseCache: number;
  personaCache: number;
  /** Expired request_log rows whose stored response was dropped (the row stays, for the history panels). */
  requestLog: number;
  /** request_log rows deleted: past the retention window, or abandoned in progress. */
  requestLogDeleted: number;
  inflight: number;
}

export interface CleanupOptions {
  batch?: number;
  /** How long request_log rows stay for analytics after their replay window ended. */
  requestLogRetentionDays?: number;
}

/**
 * Deletes expired response_cache and persona_cache rows and inflight_request rows whose lease ran
 * out more than a minute ago (a crashed owner's). request_log is the history behind the
 * "idempotent requests per day" panels, so an expired row only loses its stored response (it can
 * no longer be replayed) and is deleted after `requestLogRetentionDays`; an abandoned in-progress
 * row goes once its lease and window have run out. Each step is one short statement over at most
 * `batch` rows, so it never holds long locks.
 */
export async function cleanupExpired(pool: Pool, opts: CleanupOptions = {}): Promise<CleanupResult> {
  const batch = opts.batch ?? 5000;
  const retentionDays = opts.requestLogRetentionDays ?? 90;
  const del = async (sql: string, extra: unknown[] = []): Promise<number> => (await pool.query(sql, [batch, ...extra])).rowCount ?? 0;
  return {
    responseCache: await del(
      `DELETE FROM response_cache WHERE id IN (SELECT id FROM response_cache WHERE expires_at <= now() LIMIT $1)`,
    ),
    personaCache: await del(
      `DELETE FROM persona_cache WHERE id IN (SELECT id FROM persona_cache WHERE expires_at <= now() LIMIT $1)`,
    ),
    requestLog: await del(
      `UPDATE request_log SET response_json = NULL, response_text = NULL, response_raw = NULL, response_headers = NULL
        WHERE id IN (SELECT id FROM request_log WHERE expires_at <= now() AND state = 'completed'
                       AND (response_json IS NOT NULL OR response_text IS NOT NULL OR response_raw IS NOT NULL) LIMIT $1)`,
    ),
    requestLogDeleted: await del(
      `DELETE FROM request_log WHERE id IN (SELECT id FROM request_log
          WHERE created_at < now() - make_interval(days => $2)
             OR (state = 'in_progress' AND expires_at <= now() AND (lease_until IS NULL OR lease_until <= now()))
          LIMIT $1)`,
      [retentionDays],
    ),
    inflight: await del(
      `DELETE FROM inflight_request WHERE (scope, key) IN
         (SELECT scope, key FROM inflight_request WHERE lease_until <= now() - interval '1 minute' LIMIT $1)`,
    ),
  };
}

/**
 * Runs cleanupExpired every `intervalMs` (timer unref'd; the first run after one interval).
 * Returns a stop function. Replicas may all run it: the deletes are idempotent.
 */
export function startCleanup(pool: Pool, intervalMs: number, logger?: Logger, opts: CleanupOptions = {}): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    cleanupExpired(pool, opts)
      .then((r) => {
        const total = r.responseCache + r.personaCache + r.requestLog + r.requestLogDeleted + r.inflight;
        if (total > 0) logger?.info({ cleanup: r }, 'expired cache rows deleted');
      })
      .catch((err: unknown) => logger?.warn({ err: (err as Error).message }, 'cache cleanup failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
