import { escapeIdentifier, type PoolClient } from 'pg';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';

/**
 * Call-log maintenance (migrations 011 and 015), off the response path:
 * - folds the rollup deltas the call log's trigger appends (call_log_pending) into the hourly and
 *   daily rollups, often, so panels read few pending rows (they are exact either way), and
 *   summarizes the BRIN ranges written since the last fold (summarizeNewRanges);
 * - creates the day partitions a week ahead, and with a retention drops the partitions whose rows
 *   are all older than it (the rollups keep their numbers);
 * - gives day partitions created before migrations 021 and 024 the tenant indexes new ones are
 *   created with, CONCURRENTLY (writers never wait for the build).
 * Every replica may run it: the fold takes turns under an advisory lock, partition creation is
 * idempotent. A failure is logged and retried at the next tick; it never touches a call-log row.
 */
export interface CallLogMaintenanceOptions {
  /** How often pending deltas are folded (ms). */
  foldIntervalMs: number;
  /** How often partitions are created ahead and dropped past retention (ms). */
  partitionIntervalMs: number;
  /** Days of raw rows kept; 0 keeps them all. */
  retentionDays: number;
  /** Day partitions created ahead of today. */
  daysAhead?: number;
  /** The moment whose partitions are being written, for the BRIN summarization (default: now). */
  clock?: () => Date;
}

/** Folds every pending delta (in bounded steps); returns how many delta rows were folded. */
export async function foldCallLog(pool: Pool, step = 100_000): Promise<number> {
  let total = 0;
  for (;;) {
    const { rows } = await pool.query<{ n: string }>('SELECT tollgate_call_log_fold($1) AS n', [step]);
    const n = Number(rows[0]?.n ?? 0);
    total += n;
    if (n < step) return total;
  }
}

export async function maintainPartitions(
  pool: Pool,
  retentionDays: number,
  daysAhead = 7,
): Promise<{ created: string[]; dropped: string[] }> {
  // Attaching and detaching take a short lock on the log: never queue behind a long query.
  return withLockTimeout(pool, '2s', async (client) => {
    const { rows } = await client.query<{ created: string[]; dropped: string[] }>(
      'SELECT created, dropped FROM tollgate_call_log_maintain($1, $2)',
      [daysAhead, retentionDays],
    );
    return rows[0] ?? { created: [], dropped: [] };
  });
}

/** Runs `fn` on a pooled connection whose lock waits give up after `timeout`, restored after. */
async function withLockTimeout<T>(pool: Pool, timeout: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`SET lock_timeout = '${timeout}'`);
    return await fn(client);
  } finally {
    await client.query('RESET lock_timeout').catch(() => undefined);
    client.release();
  }
}

/** The indexes migrations 021 and 024 give day partitions, by name suffix: what follows `ON <partition>`. */
const PARTITION_INDEXES: Array<[string, string]> = [
  ['_tenant_idx', '(tenant, created_at)'],
  ['_tenant_model_idx', '(tenant, endpoint, model, created_at)'],
  ['_app_user_idx', '(tenant, app_user, created_at) WHERE app_user IS NOT NULL'],
  ['_model_idx', '(tenant, model, created_at)'],
  ['_tags_idx', 'USING gin (tags) WHERE tags IS NOT NULL'],
];

/**
 * Builds migrations 021's and 024's indexes on every day partition and the DEFAULT partition that
 * lacks a valid one, one at a time with CREATE INDEX CONCURRENTLY (outside a transaction: it must not
 * run in one, and it lets inserts go on). A build that failed half-way leaves an invalid index,
 * dropped and rebuilt here. Returns the indexes built. The legacy partition (015) keeps its own
 * indexes, (tenant, created_at) among them since migration 001.
 */
export async function ensurePartitionIndexes(pool: Pool): Promise<string[]> {
  const built: string[] = [];
  for (const [suffix, columns] of PARTITION_INDEXES) {
    const { rows } = await pool.query<{ partition: string; index: string; invalid: boolean }>(
      `SELECT c.relname AS partition, c.relname || $1 AS index, i.indexrelid IS NOT NULL AS invalid
         FROM pg_inherits h
         JOIN pg_class c ON c.oid = h.inhrelid
         LEFT JOIN pg_class ic ON ic.relname = c.relname || $1 AND ic.relnamespace = c.relnamespace
         LEFT JOIN pg_index i ON i.indexrelid = ic.oid AND NOT i.indisvalid
        WHERE h.inhparent = 'openai_call_log'::regclass
          AND c.relname <> 'openai_call_log_legacy'
          AND (ic.oid IS NULL OR i.indexrelid IS NOT NULL)
        ORDER BY c.relname DESC`,
      [suffix],
    );
    for (const r of rows) {
      if (r.invalid) await pool.query(`DROP INDEX CONCURRENTLY IF EXISTS ${escapeIdentifier(r.index)}`);
      await pool.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${escapeIdentifier(r.index)} ON ${escapeIdentifier(r.partition)} ${columns}`);
      built.push(r.index);
    }
  }
  return built;
}

/**
 * Summarizes the BRIN ranges on `created_at` that no summary covers yet, in the partitions being
 * written: the day partitions of now and of an hour ago (around midnight both take rows) and
 * DEFAULT. Returns the ranges summarized.
 *
 * Why: Postgres summarizes a BRIN range only when VACUUM reaches the table (or on request), and a
 * range no summary covers is read whole by every scan of the index. Today's partition is where
 * every panel reads its raw rows (the partial hour at the end of its range), and autovacuum visits
 * it after a fifth of it has changed: until then each of those reads went through every page
 * written since (in the 10 M-row bench, after 44,000 inserts into today's partition, 80-94 ms
 * per read, twice in a 561 ms latency panel; 0.25 ms once summarized; a 100 M-row log's day
 * partition takes ~1.1 M rows a day). Summarizing every few seconds scans only the pages written
 * since the last time. It takes the lock VACUUM takes (never one that stops writers); when
 * autovacuum holds it, that vacuum is summarizing anyway, so this round is skipped. A proxy whose
 * role does not own the partitions cannot summarize them and leaves it to autovacuum.
 */
export async function summarizeNewRanges(pool: Pool, at: Date = new Date()): Promise<number> {
  try {
    return await withLockTimeout(pool, '500ms', async (client) => {
      const { rows } = await client.query<{ n: string | null }>(
        `SELECT sum(brin_summarize_new_values(i.indexrelid)) AS n
           FROM pg_inherits h
           JOIN pg_class c ON c.oid = h.inhrelid
           JOIN pg_index i ON i.indrelid = h.inhrelid
           JOIN pg_class ic ON ic.oid = i.indexrelid
           JOIN pg_am am ON am.oid = ic.relam
          WHERE h.inhparent = 'openai_call_log'::regclass
            AND am.amname = 'brin'
            AND c.relname IN ('openai_call_log_p' || to_char($1::timestamptz AT TIME ZONE 'UTC', 'YYYYMMDD'),
                              'openai_call_log_p' || to_char(($1::timestamptz - interval '1 hour') AT TIME ZONE 'UTC', 'YYYYMMDD'),
                              'openai_call_log_default')`,
        [at],
      );
      return Number(rows[0]?.n ?? 0);
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    // lock_not_available: a VACUUM is on it. insufficient_privilege: only the index's owner may
    // summarize, and the migrations ran as another role; autovacuum summarizes instead.
    if (code === '55P03' || code === '42501') return 0;
    throw err;
  }
}

/** Starts both loops (timers unref'd; partitions right away, then every interval). Returns stop. */
export function startCallLogMaintenance(pool: Pool, opts: CallLogMaintenanceOptions, logger?: Logger): () => void {
  const loop = (name: string, intervalMs: number, run: () => Promise<void>, now: boolean): NodeJS.Timeout => {
    let running = false;
    const tick = (): void => {
      if (running) return;
      running = true;
      run()
        .catch((err: unknown) => logger?.warn({ err: (err as Error).message }, `call log ${name} failed; retrying later`))
        .finally(() => {
          running = false;
        });
    };
    if (now) tick();
    const timer = setInterval(tick, intervalMs);
    timer.unref();
    return timer;
  };
  const fold = loop('rollup fold', opts.foldIntervalMs, async () => {
    // Two jobs on one clock, side by side: a slow or failing fold must not hold the other back.
    const done = await Promise.allSettled([foldCallLog(pool), summarizeNewRanges(pool, opts.clock?.())]);
    for (const r of done) if (r.status === 'rejected') throw r.reason;
  }, false);
  const partitions = loop('partition maintenance', opts.partitionIntervalMs, async () => {
    const r = await maintainPartitions(pool, opts.retentionDays, opts.daysAhead);
    if (r.created.length || r.dropped.length) logger?.info(r, 'call log partitions maintained');
    const indexed = await ensurePartitionIndexes(pool);
    if (indexed.length) logger?.info({ indexed }, 'call log partitions indexed');
  }, true);
  return () => {
    clearInterval(fold);
    clearInterval(partitions);
  };
}
