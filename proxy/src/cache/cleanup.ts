import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';

export interface CleanupResult {
  responseCache: number;
  personaCache: number;
  requestLog: number;
  inflight: number;
}

/**
 * Deletes expired rows: response_cache, persona_cache and request_log past expires_at (an
 * in-progress request_log row only once its lease has also run out), and inflight_request rows
 * whose lease ran out more than a minute ago (a crashed owner's). Each in its own short statement,
 * at most `batch` rows at a time, so it never holds long locks.
 */
export async function cleanupExpired(pool: Pool, batch = 5000): Promise<CleanupResult> {
  const del = async (sql: string): Promise<number> => (await pool.query(sql, [batch])).rowCount ?? 0;
  return {
    responseCache: await del(
      `DELETE FROM response_cache WHERE id IN (SELECT id FROM response_cache WHERE expires_at <= now() LIMIT $1)`,
    ),
    personaCache: await del(
      `DELETE FROM persona_cache WHERE id IN (SELECT id FROM persona_cache WHERE expires_at <= now() LIMIT $1)`,
    ),
    requestLog: await del(
      `DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE expires_at <= now()
          AND (state = 'completed' OR lease_until IS NULL OR lease_until <= now()) LIMIT $1)`,
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
export function startCleanup(pool: Pool, intervalMs: number, logger?: Logger): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    cleanupExpired(pool)
      .then((r) => {
        const total = r.responseCache + r.personaCache + r.requestLog + r.inflight;
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
