import type { Pool } from '../../proxy/src/db/pool.js';
import { BACKFILL_ENDPOINTS, backfill, backfillDays } from '../../proxy/src/demo/backfill.js';
import { demoTenantIds } from '../../proxy/src/demo/tenants.js';
import { testPool } from '../support/db.js';

// A fixed clock, so the month and therefore every generated row are the same on every run.
const NOW = new Date('2026-03-15T10:30:00Z');

let pool: Pool;
beforeAll(async () => {
  pool = await testPool();
});
afterAll(async () => {
  await pool.end();
});

async function counts() {
  const q = async (sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);
  return {
    calls: await q(`SELECT count(*) AS n FROM openai_call_log WHERE request_id LIKE 'backfill-%'`),
    personas: await q(`SELECT count(*) AS n FROM persona_cache WHERE input_hash LIKE 'backfill-%'`),
    requests: await q(`SELECT count(*) AS n FROM request_log WHERE request_hash LIKE 'backfill-%'`),
    // Other test files share this database: watch the one real row this test adds.
    live: await q(`SELECT count(*) AS n FROM openai_call_log WHERE request_id = 'live-1'`),
  };
}

describe('demo backfill on a real Postgres', () => {
  it('writes a month of history once, however often it runs, and leaves other rows alone', async () => {
    // A row the proxy logged for real: the backfill must never delete it.
    await pool.query(
      `INSERT INTO openai_call_log (endpoint, model, request_id, tenant, status_code) VALUES ('embeddings', 'text-embedding-3-small', 'live-1', 'anonymous', 200)`,
    );
    const first = await backfill(pool, { now: NOW, callsPerDay: 200 });
    const afterFirst = await counts();
    const second = await backfill(pool, { now: NOW, callsPerDay: 200 });
    const afterSecond = await counts();

    expect(first.callLog).toBeGreaterThan(30 * 6);
    expect(afterFirst.calls).toBe(first.callLog);
    expect(afterFirst.personas).toBe(first.personaCache);
    expect(afterFirst.requests).toBe(first.requestLog);
    expect(second).toEqual(first);
    expect(afterSecond).toEqual(afterFirst);
    expect(afterSecond.live).toBe(1);
    expect(afterFirst.personas).toBeGreaterThan(0);
    // Only replays younger than the idempotency TTL survive cleanup, so only those are written.
    expect(afterFirst.requests).toBeGreaterThan(0);
  });

  it('covers 30 distinct whole days before today, every endpoint, tenant and cache status, priced', async () => {
    const days = await pool.query<{ day: string }>(
      `SELECT DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM openai_call_log WHERE request_id LIKE 'backfill-%' ORDER BY 1`,
    );
    expect(days.rows.map((r) => r.day)).toEqual(backfillDays(NOW, 30).map((d) => d.toISOString().slice(0, 10)));
    expect(days.rows[29]!.day).toBe('2026-03-14');

    const endpoints = await pool.query<{ endpoint: string }>(
      `SELECT DISTINCT endpoint FROM openai_call_log WHERE request_id LIKE 'backfill-%' ORDER BY 1`,
    );
    expect(endpoints.rows.map((r) => r.endpoint)).toEqual([...BACKFILL_ENDPOINTS].sort());

    // Every endpoint on every day, so no per-endpoint panel has gaps.
    const perDay = await pool.query<{ n: string }>(
      `SELECT count(DISTINCT endpoint) AS n FROM openai_call_log WHERE request_id LIKE 'backfill-%'
       GROUP BY date_trunc('day', created_at AT TIME ZONE 'UTC')`,
    );
    expect(perDay.rows.every((r) => Number(r.n) === BACKFILL_ENDPOINTS.length)).toBe(true);

    const statuses = await pool.query<{ cache_status: string }>(
      `SELECT DISTINCT cache_status FROM openai_call_log WHERE request_id LIKE 'backfill-%' ORDER BY 1`,
    );
    expect(statuses.rows.map((r) => r.cache_status)).toEqual(['bypass', 'coalesced', 'hit', 'idempotent_replay', 'miss']);

    const tenants = await pool.query<{ tenant: string }>(`SELECT DISTINCT tenant FROM openai_call_log WHERE request_id LIKE 'backfill-%'`);
    expect(new Set(tenants.rows.map((r) => r.tenant))).toEqual(new Set(demoTenantIds().map((t) => t.tenant)));

    const money = await pool.query<{ cost: number; saved: number; unpriced: string; future: string; errors: string; aborted: string }>(
      `SELECT sum(cost_usd) AS cost, sum(cost_saved_usd) AS saved,
              count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced,
              count(*) FILTER (WHERE created_at >= $1) AS future,
              count(*) FILTER (WHERE status_code >= 400) AS errors,
              count(*) FILTER (WHERE client_aborted) AS aborted
       FROM openai_call_log WHERE request_id LIKE 'backfill-%'`,
      [NOW],
    );
    const m = money.rows[0]!;
    expect(m.cost).toBeGreaterThan(0);
    expect(m.saved).toBeGreaterThan(0);
    expect(Number(m.unpriced)).toBe(0);
    expect(Number(m.future)).toBe(0);
    expect(Number(m.errors)).toBeGreaterThan(0);

    // Served copies cost nothing and save what the call would have cost; misses are the reverse.
    const served = await pool.query<{ bad: string }>(
      `SELECT count(*) AS bad FROM openai_call_log WHERE request_id LIKE 'backfill-%' AND (
         (cache_status IN ('hit', 'idempotent_replay', 'coalesced') AND (cost_usd <> 0 OR cost_saved_usd <= 0))
         OR (cache_status IN ('miss', 'bypass') AND cost_saved_usd <> 0))`,
    );
    expect(Number(served.rows[0]!.bad)).toBe(0);
  });

  it('leaves persona and idempotency rows as the proxy and its cleanup would have left them', async () => {
    const r = await pool.query<{ bad_personas: string; bad_requests: string; request_days: string }>(
      `SELECT (SELECT count(*) FROM persona_cache WHERE input_hash LIKE 'backfill-%'
                 AND (expires_at <> created_at + interval '30 days' OR created_at >= $1)) AS bad_personas,
              -- past its replay window a row keeps its history but not its stored response
              (SELECT count(*) FROM request_log WHERE request_hash LIKE 'backfill-%'
                 AND (state <> 'completed' OR last_replayed_at < created_at
                      OR (expires_at <= $1) <> (response_json IS NULL))) AS bad_requests,
              (SELECT count(DISTINCT date_trunc('day', created_at)) FROM request_log WHERE request_hash LIKE 'backfill-%') AS request_days`,
      [NOW],
    );
    expect(Number(r.rows[0]!.bad_personas)).toBe(0);
    expect(Number(r.rows[0]!.bad_requests)).toBe(0);
    // The "idempotent requests per day" panel has a month of history, not just the last day.
    expect(Number(r.rows[0]!.request_days)).toBeGreaterThanOrEqual(28);
  });
});
