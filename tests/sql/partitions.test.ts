import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { createPool } from '../../proxy/src/db/pool.js';
import { startCallLogMaintenance, summarizeNewRanges } from '../../proxy/src/log/partitions.js';
import { testPool } from '../support/db.js';

/**
 * The call-log maintenance keeps the BRIN index of the partition being written summarized: a range
 * no summary covers is read whole by every panel's raw read of the current hour.
 */
let pool: pg.Pool;
beforeAll(async () => {
  pool = await testPool();
});
afterAll(async () => {
  await pool.query("DELETE FROM openai_call_log WHERE request_id LIKE 'brin-test-%'");
  await pool.end();
});

/** Rows written now (through the parent, as every writer does); the partition they landed in. */
async function writeNow(tag: string, n: number): Promise<string> {
  const { rows } = await pool.query<{ p: string }>(
    `INSERT INTO openai_call_log (endpoint, model, tokens_prompt, tokens_completion, cost_usd, request_id, tenant, path)
     SELECT 'chat.completions', 'gpt-4o-mini', 10, 5, 0.0001, 'brin-test-${tag}-' || i, 't-brin', repeat('/v1/chat/completions', 10)
       FROM generate_series(1, $1) AS i
     RETURNING tableoid::regclass::text AS p`,
    [n],
  );
  return rows[0]!.p;
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
    const partition = await writeNow('a', 3000);
    expect(await summarizeNewRanges(pool)).toBeGreaterThan(0);
    expect(await summarizeNewRanges(pool)).toBe(0);
    expect(await unsummarized(partition)).toBe(0);
  });

  // Roles are the server's; the embedded PGlite has one user.
  (process.env.DATABASE_URL ? it : it.skip)('a proxy whose role does not own the partitions leaves it to autovacuum, without an error', async () => {
    await pool.query('DO $$ BEGIN CREATE ROLE tollgate_test_not_owner LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$');
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.username = 'tollgate_test_not_owner';
    const other = createPool(url.toString(), 1);
    try {
      const partition = await writeNow('c', 3000);
      expect(await summarizeNewRanges(other)).toBe(0);
      expect(await unsummarized(partition)).toBeGreaterThan(0);
    } finally {
      await other.end();
    }
  });

  it("the maintenance loop runs it with every fold", async () => {
    const partition = await writeNow('b', 3000);
    const stop = startCallLogMaintenance(pool, { foldIntervalMs: 50, partitionIntervalMs: 3_600_000, retentionDays: 0 });
    try {
      // The first tick folds, then summarizes; checking summarizes what is left (so it cannot pass by waiting).
      await new Promise((r) => setTimeout(r, 1500));
      expect(await unsummarized(partition)).toBe(0);
    } finally {
      stop();
    }
  });
});
