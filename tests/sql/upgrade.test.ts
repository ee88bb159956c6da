import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { MIGRATIONS_DIR, migrate } from '../../proxy/src/db/migrate.js';
import { ensurePartitionIndexes } from '../../proxy/src/log/partitions.js';

/**
 * Migrations 021-024 on a database that already holds a call log (the schema of 001-020, rows
 * folded and rows still pending with 011's deltas, persona entries and stored responses; then
 * 021-023 and more rows, some folded, some pending with 021's deltas), then written to again: every
 * new rollup equals the raw rows. Needs a server to create a database on (DATABASE_URL); the
 * embedded PGlite has one database, migrated by the other tests.
 */
const ADMIN = process.env.DATABASE_URL;
const DB = `tollgate_upgrade_${process.pid}`;
let pool: pg.Pool;
let dir: string;

(ADMIN ? describe : describe.skip)('migrating an existing database (021-024)', () => {
  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: ADMIN });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.end();
    const url = new URL(ADMIN as string);
    url.pathname = `/${DB}`;
    pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
    dir = mkdtempSync(join(tmpdir(), 'tollgate-mig-'));
    for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql') && f < '021')) copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f));
  });

  afterAll(async () => {
    await pool?.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
    const admin = new pg.Client({ connectionString: ADMIN });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.end();
  });

  it('keeps every number: errors, app users and tags, latency histograms, cache entries equal the raw rows', async () => {
    await migrate(pool, dir);
    const gen = (seed: number, n: number, hours: number) => `
      INSERT INTO openai_call_log (endpoint, model, tokens_prompt, tokens_completion, cost_usd, created_at, request_id, tenant, status_code,
        stream, cache_status, cost_saved_usd, latency_ms, ttfb_ms, upstream_ms, client_aborted, app_user, tags)
      SELECT (ARRAY['chat.completions','embeddings','responses'])[1 + i % 3], (ARRAY['m1','m2'])[1 + i % 2], i % 500, 7,
             CASE WHEN i % 4 = 0 THEN NULL ELSE (i * 0.0000000123)::numeric(18,10) END,
             now() - (i::float8 / ${n}) * interval '${hours} hours', 'u${seed}-' || i, (ARRAY['t-x','t-y','t-z'])[1 + i % 7 % 3],
             (ARRAY[200,200,502,429,200,400,200])[1 + i % 7], i % 2 = 0,
             (ARRAY['miss','hit','idempotent_replay','coalesced','bypass','external'])[1 + i % 6], CASE WHEN i % 6 = 1 THEN 0.0012345678 ELSE 0 END,
             CASE WHEN i % 9 = 0 THEN NULL ELSE 5 + (i * 37) % 4000 END, 3 + (i * 13) % 900, CASE WHEN i % 5 = 1 THEN NULL ELSE (i * 37) % 4000 END,
             i % 23 = 0, CASE WHEN i % 4 = 0 THEN NULL ELSE (ARRAY['alice','bob','svc'])[1 + i % 3] END,
             CASE WHEN i % 6 = 0 THEN NULL WHEN i % 3 = 0 THEN ARRAY['team:a'] WHEN i % 3 = 1 THEN ARRAY['team:a','team:b'] ELSE ARRAY['job:x'] END
        FROM generate_series(1, ${n}) i`;
    await pool.query(gen(1, 20000, 24 * 20));
    await pool.query(`INSERT INTO persona_cache (input_hash, personas_json, created_at, tenant, model, cost_usd, expires_at)
      SELECT 'h' || i, '[]', now() - i * interval '13 minutes', 't-x', 'mA', 0.01, now() + interval '1 day' FROM generate_series(1, 3000) i`);
    await pool.query(`INSERT INTO request_log (request_hash, created_at, tenant, fingerprint, path, endpoint, expires_at)
      SELECT 'r' || i, now() - i * interval '17 minutes', 't-y', 'f', '/v1/x', 'chat.completions', now() + interval '1 day' FROM generate_series(1, 3000) i`);
    await pool.query('SELECT tollgate_call_log_fold(5000)'); // some folded, the rest pending with 011's deltas
    await pool.query(gen(2, 3000, 30));
    // 021-023, then rows through their triggers, some folded by 021's fold, the rest left pending.
    for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql') && f >= '021' && f < '024')) copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f));
    expect((await migrate(pool, dir)).applied.length).toBe(3);
    await pool.query(gen(4, 4000, 40));
    await pool.query('SELECT tollgate_call_log_fold(50)');
    expect(Number((await pool.query('SELECT count(*) AS n FROM call_log_pending')).rows[0].n)).toBeGreaterThan(0);
    // A day partition that holds rows (three days ahead: a clock running fast) gets 024's indexes
    // from the proxy's maintenance, concurrently; the empty ones from the migration itself.
    await pool.query(`INSERT INTO openai_call_log (endpoint, model, tokens_prompt, tokens_completion, cost_usd, created_at, request_id, tenant, app_user, tags)
      VALUES ('embeddings', 'm1', 1, 0, 0.0001, now() + interval '3 days', 'ahead-1', 't-x', 'alice', ARRAY['team:a'])`);
    const { applied } = await migrate(pool);
    expect(applied.filter((f) => f >= '024').length).toBeGreaterThanOrEqual(1);
    const ahead = (await pool.query(`SELECT tableoid::regclass::text AS p FROM openai_call_log WHERE request_id = 'ahead-1'`)).rows[0].p as string;
    expect(ahead).toMatch(/^openai_call_log_p\d{8}$/);
    const built = await ensurePartitionIndexes(pool);
    expect(built).toEqual(expect.arrayContaining(['_app_user_idx', '_model_idx', '_tags_idx'].map((s) => ahead + s)));
    const missing = await pool.query(`
      SELECT c.relname, s.suffix FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
       CROSS JOIN unnest(ARRAY['_app_user_idx', '_model_idx', '_tags_idx']) AS s (suffix)
       WHERE h.inhparent = 'openai_call_log'::regclass AND c.relname <> 'openai_call_log_legacy'
         AND NOT EXISTS (SELECT 1 FROM pg_class i JOIN pg_index x ON x.indexrelid = i.oid
                          WHERE i.relname = c.relname || s.suffix AND x.indisvalid)`);
    expect(missing.rows).toEqual([]);
    await pool.query(`DELETE FROM openai_call_log WHERE request_id = 'ahead-1'`);
    await pool.query(gen(3, 2000, 50)); // written through the new triggers
    await pool.query(`DELETE FROM openai_call_log WHERE request_id LIKE 'u1-1%'`);
    await pool.query(`DELETE FROM persona_cache WHERE input_hash LIKE 'h1%'`);
    await pool.query('SELECT tollgate_call_log_fold(3000)'); // and some of that folded
    const checks: Array<[string, string, string]> = [
      ['errors', `SELECT floor(extract(epoch FROM bucket)/86400) d, endpoint, model, SUM(calls) c, SUM(errors) e, SUM(rate_limited) r, SUM(aborted) a FROM call_log_facts(now() - interval '30 days', now(), ARRAY['__all'], ARRAY['__all'], ARRAY['__all']) GROUP BY 1,2,3 HAVING SUM(calls) <> 0 ORDER BY 1,2,3`,
       `SELECT floor(extract(epoch FROM created_at)/86400) d, endpoint, model, COUNT(*) c, COUNT(*) FILTER (WHERE cache_status <> 'external' AND status_code >= 400 AND NOT client_aborted) e, COUNT(*) FILTER (WHERE cache_status <> 'external' AND status_code = 429) r, COUNT(*) FILTER (WHERE cache_status <> 'external' AND client_aborted) a FROM openai_call_log WHERE created_at BETWEEN now() - interval '30 days' AND now() GROUP BY 1,2,3 ORDER BY 1,2,3`],
      ['attr', `SELECT floor(extract(epoch FROM bucket)/86400) d, tenant, app_user, tags, SUM(calls) c, (SUM(cost_e10)*1e-10)::numeric(30,10)::text cost, SUM(saved_e10) s FROM call_log_attr_facts(now() - interval '30 days', now(), ARRAY['__all'], ARRAY['__all'], ARRAY['__all'], ARRAY['__all'], ARRAY['__all']) GROUP BY 1,2,3,4 HAVING SUM(calls) <> 0 ORDER BY 1,2,3,4`,
       `SELECT floor(extract(epoch FROM created_at)/86400) d, tenant, app_user, tags, COUNT(*) c, SUM(cost_usd)::numeric(30,10)::text cost, (COALESCE(SUM(cost_saved_usd),0)*10000000000)::bigint s FROM openai_call_log WHERE created_at BETWEEN now() - interval '30 days' AND now() GROUP BY 1,2,3,4 ORDER BY 1,2,3,4`],
      ['latency', `SELECT bin, SUM(latency) l, SUM(ttfb) t, SUM(overhead) o FROM call_log_latency_facts(now() - interval '30 days', now(), ARRAY['__all'], ARRAY['__all'], ARRAY['t-y'], 'day', false) GROUP BY 1 HAVING SUM(latency) <> 0 OR SUM(ttfb) <> 0 OR SUM(overhead) <> 0 ORDER BY 1`,
       `SELECT b.bin, COUNT(*) FILTER (WHERE m = 1) l, COUNT(*) FILTER (WHERE m = 2) t, COUNT(*) FILTER (WHERE m = 3) o FROM openai_call_log c CROSS JOIN LATERAL (VALUES (1, tollgate_latency_bin(latency_ms)), (2, CASE WHEN stream THEN tollgate_latency_bin(ttfb_ms) END), (3, tollgate_latency_bin(latency_ms::bigint - upstream_ms))) b(m, bin) WHERE b.bin IS NOT NULL AND cache_status <> 'external' AND tenant = 't-y' AND created_at BETWEEN now() - interval '30 days' AND now() GROUP BY 1 ORDER BY 1`],
      ['tenant', `SELECT floor(extract(epoch FROM bucket)/86400) d, tenant, SUM(calls) c, SUM(calls_proxy) p, SUM(hits) h, (CASE WHEN SUM(cost_rows) <> 0 THEN SUM(cost_e10)*1e-10 END)::numeric(30,10)::text cost, SUM(saved_e10) s, SUM(saved_hit_e10) sh, SUM(saved_idem_e10) si FROM call_log_tenant_facts(now() - interval '30 days', now(), ARRAY['__all']) GROUP BY 1,2 HAVING SUM(calls) <> 0 ORDER BY 1,2`,
       `SELECT floor(extract(epoch FROM created_at)/86400) d, tenant, COUNT(*) c, COUNT(*) FILTER (WHERE cache_status <> 'external') p, COUNT(*) FILTER (WHERE cache_status = 'hit') h, SUM(cost_usd)::numeric(30,10)::text cost, (COALESCE(SUM(cost_saved_usd),0)*10000000000)::bigint s, (COALESCE(SUM(cost_saved_usd) FILTER (WHERE cache_status = 'hit'),0)*10000000000)::bigint sh, (COALESCE(SUM(cost_saved_usd) FILTER (WHERE cache_status IN ('idempotent_replay','coalesced')),0)*10000000000)::bigint si FROM openai_call_log WHERE created_at BETWEEN now() - interval '30 days' AND now() GROUP BY 1,2 ORDER BY 1,2`],
      ['persona', `SELECT SUM(entries) n FROM cache_entries_facts('persona', now() - interval '30 days', now(), ARRAY['__all'], ARRAY['__all'])`, `SELECT COUNT(*)::numeric n FROM persona_cache WHERE created_at BETWEEN now() - interval '30 days' AND now()`],
      ['stored', `SELECT SUM(entries) n FROM cache_entries_facts('stored', now() - interval '30 days', now(), ARRAY['__all'], ARRAY['__all'])`, `SELECT COUNT(*)::numeric n FROM request_log WHERE created_at BETWEEN now() - interval '30 days' AND now()`],
    ];
    for (const [name, fast, raw] of checks) {
      const c = await pool.connect();
      try {
        await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ'); // both sides on one snapshot and one now()
        const rows = (await c.query(fast)).rows;
        expect([name, rows]).toEqual([name, (await c.query(raw)).rows]);
        expect([name, rows.length > 0]).toEqual([name, true]);
      } finally {
        await c.query('COMMIT');
        c.release();
      }
    }
  });
});
