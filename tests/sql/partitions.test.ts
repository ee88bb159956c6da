import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { createPool } from '../../proxy/src/db/pool.js';
import { startCallLogMaintenance, summarizeNewRanges } from '../../proxy/src/log/partitions.js';
import { testPool } from '../support/db.js';

/**
 * The call-log maintenance keeps the BRIN index of the partition being written summarized: a range
 * no summary covers is read whole by every panel's raw read of the current hour. Other test files
 * write to today's partition at the same time, so each test here writes into a day partition of its
 * own, far ahead, and tells the maintenance that this is the day being written.
 */
let pool: pg.Pool;
const partitions: string[] = [];
beforeAll(async () => {
  pool = await testPool();
});
afterAll(async () => {
  await pool.query("DELETE FROM openai_call_log WHERE request_id LIKE 'brin-test-%'");
  for (const p of partitions) await pool.query(`DROP TABLE IF EXISTS ${p}`);
  await pool.end();
});

let days = 0;
/** A day of its own, 500+ days ahead, with its partition (autovacuum off: it would summarize too). */
async function ownDay(): Promise<{ day: Date; partition: string }> {
  const day = new Date(Date.UTC(new Date().getUTCFullYear() + 2, 0, 1 + (process.pid % 300) + 10 * days++, 12));
  await pool.query('SELECT tollgate_call_log_create_partition($1)', [day]);
  const partition = `openai_call_log_p${day.toISOString().slice(0, 10).replaceAll('-', '')}`;
  await pool.query(`ALTER TABLE ${partition} SET (autovacuum_enabled = false)`);
  partitions.push(partition);
  return { day, partition };
}

/** Rows written through the parent at `day`, as every writer does; checks they landed in `partition`. */
async function write(tag: string, day: Date, partition: string, n: number): Promise<void> {
  const { rows } = await pool.query<{ p: string }>(
    `INSERT INTO openai_call_log (endpoint, model, tokens_prompt, tokens_completion, cost_usd, request_id, tenant, path, created_at)
     SELECT 'chat.completions', 'gpt-4o-mini', 10, 5, 0.0001, 'brin-test-${tag}-' || i, 't-brin', repeat('/v1/chat/completions', 10), $2
       FROM generate_series(1, $1) AS i
     RETURNING tableoid::regclass::text AS p`,
    [n, day],
  );
  expect(new Set(rows.map((r) => r.p))).toEqual(new Set([partition]));
}

/** Summarizes what is left of the partition's BRIN index: 0 when everything was summarized already. */
async function unsummarized(partition: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT sum(brin_summarize_new_values(i.indexrelid)) AS n FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_am am ON am.oid = ic.relam WHERE i.indrelid = $1::regclass AND am.amname = 'brin'`,
    [partition],
  );
  return Number(rows[0]!.n);
}

describe('BRIN summarization of the partition being written', () => {
  it('summarizeNewRanges summarizes the ranges written since, and nothing twice', async () => {
    const { day, partition } = await ownDay();
    await write('a', day, partition, 3000);
    expect(await summarizeNewRanges(pool, day)).toBeGreaterThan(0);
    expect(await summarizeNewRanges(pool, day)).toBe(0);
    expect(await unsummarized(partition)).toBe(0);
  });

  // Roles are the server's; the embedded PGlite has one user.
  (process.env.DATABASE_URL ? it : it.skip)('a proxy whose role does not own the partitions leaves it to autovacuum, without an error', async () => {
    await pool.query('DO $$ BEGIN CREATE ROLE tollgate_test_not_owner LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$');
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.username = 'tollgate_test_not_owner';
    const other = createPool(url.toString(), 1);
    try {
      const { day, partition } = await ownDay();
      await write('c', day, partition, 3000);
      expect(await summarizeNewRanges(other, day)).toBe(0);
      expect(await unsummarized(partition)).toBeGreaterThan(0);
    } finally {
      await other.end();
    }
  });

  it('the maintenance loop runs it with every fold', async () => {
    const { day, partition } = await ownDay();
    await write('b', day, partition, 3000);
    const stop = startCallLogMaintenance(pool, { foldIntervalMs: 50, partitionIntervalMs: 3_600_000, retentionDays: 0, clock: () => day });
    try {
      // Checking summarizes what is left, so it cannot pass by waiting: only the loop can have done it.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await unsummarized(partition)).toBe(0);
    } finally {
      stop();
    }
  });
});
