/**
 * EXPLAIN ANALYZE for every sql/queries file on a scratch database with a few million rows, to
 * choose the indexes in sql/migrations/003_grafana.sql. Manual, needs a real server:
 *   EXPLAIN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres ROWS=3000000 \
 *     TS_NODE_TRANSPILE_ONLY=1 node --no-warnings --loader ts-node/esm sql/explain.ts [query-name ...]
 * It drops and recreates the database "tollgate_explain", migrates it, loads ROWS calls spread
 * over a year (plus persona, request and response cache rows), and runs each query the way Grafana
 * would for "last 30 days" with every variable on All.
 */
import pg from 'pg';
import { migrate } from '../proxy/src/db/migrate.js';
import { expandQuery, type Variable } from './grafana-macros.js';
import { queryNames, readQuery } from './queries.js';

const adminUrl = process.env.EXPLAIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const rows = Number(process.env.ROWS ?? 3_000_000);
const DB = 'tollgate_explain';

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  if (process.env.REUSE !== '1') {
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB}`);
  }
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${DB}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  await migrate(pool);
  const c = await pool.connect();
  if (process.env.REUSE !== '1') {
    const t0 = Date.now();
    await c.query(`
      INSERT INTO openai_call_log (endpoint, model, tokens_prompt, tokens_completion, cost_usd, created_at,
        request_id, tenant, status_code, cache_status, cost_saved_usd, latency_ms, ttfb_ms)
      SELECT (ARRAY['chat.completions','responses','embeddings','images.generations','personas.generate','chat.stream'])[1 + i % 6],
             (ARRAY['gpt-4o','gpt-4o-mini','text-embedding-3-small','dall-e-3','gpt-5'])[1 + (i / 7) % 5],
             100 + i % 900, 10 + i % 400, (i % 1000) * 0.00001,
             now() - (i::float8 / ${rows}) * interval '365 days',
             'req-' || i, 'tenant-' || (i % 40), 200,
             (ARRAY['miss','hit','idempotent_replay','coalesced','bypass','miss','hit','miss'])[1 + (i / 3) % 8],
             CASE WHEN (i / 3) % 8 IN (1, 2, 3, 6) THEN (i % 1000) * 0.00001 ELSE 0 END,
             50 + i % 3000, 10 + i % 500
      FROM generate_series(1, ${rows}) AS i`);
    await c.query(`
      INSERT INTO persona_cache (input_hash, personas_json, created_at, tenant, model, cost_usd, hit_count, expires_at)
      SELECT 'h' || i, '[]', now() - (i::float8 / ${rows / 15}) * interval '365 days', 'tenant-' || (i % 40),
             'gpt-4o-mini', 0.01, i % 97, now() + interval '30 days'
      FROM generate_series(1, ${Math.round(rows / 15)}) AS i`);
    await c.query(`
      INSERT INTO request_log (request_hash, created_at, tenant, fingerprint, path, endpoint, expires_at, state)
      SELECT 'r' || i, now() - (i::float8 / ${rows / 6}) * interval '365 days', 'tenant-' || (i % 40), 'f',
             '/v1/chat/completions', 'chat.completions', now() + interval '1 day', 'completed'
      FROM generate_series(1, ${Math.round(rows / 6)}) AS i`);
    await c.query(`
      INSERT INTO response_cache (tenant, cache_key, path, endpoint, model, status_code, response_json, cost_usd, expires_at, hit_count)
      SELECT 'tenant-' || (i % 40), 'k' || i, '/v1/embeddings', 'embeddings', 'text-embedding-3-small', 200, '{}',
             0.001, now() + interval '1 day', i % 501
      FROM generate_series(1, ${Math.round(rows / 30)}) AS i`);
    await c.query('VACUUM ANALYZE');
    console.log(`loaded ${rows} calls in ${Date.now() - t0} ms`);
  }
  const vals = async (col: string): Promise<Variable> => ({
    value: (await c.query(`SELECT DISTINCT ${col} AS v FROM openai_call_log`)).rows.map((r: { v: string }) => r.v),
    multi: true,
    includeAll: true,
  });
  const variables: Record<string, Variable> = {
    endpoint: await vals('endpoint'),
    model: await vals('model'),
    tenant: await vals('tenant'),
    drill_endpoint: { value: 'embeddings' },
    drill_model: { value: 'text-embedding-3-small' },
    call_id: { value: (await c.query('SELECT id::text FROM openai_call_log LIMIT 1')).rows[0].id as string },
    // The Tenants page's drill-down and attribution filters ("All": the custom all value).
    drill_tenant: { value: (await c.query('SELECT tenant FROM openai_call_log LIMIT 1')).rows[0].tenant as string },
    app_user: { value: [], multi: true, includeAll: true, all: true, allValue: "'__all'" },
    tag: { value: [], multi: true, includeAll: true, all: true, allValue: "'__all'" },
  };
  const range = { from: new Date(Date.now() - 30 * 86_400_000), to: new Date() };
  const only = process.argv.slice(2);
  for (const name of queryNames().filter((n) => only.length === 0 || only.includes(n))) {
    const sql = expandQuery(readQuery(name), { range, variables });
    const plan = (await c.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`)).rows.map((r: Record<string, string>) => r['QUERY PLAN'] ?? '');
    const time = plan.find((l) => l.startsWith('Execution Time')) ?? '';
    console.log(`\n=== ${name}: ${time}`);
    if (process.env.VERBOSE === '1') {
      console.log(plan.join('\n'));
    } else {
      console.log(plan.filter((l) => /Scan|Aggregate|Sort/.test(l)).slice(0, 6).join('\n'));
    }
  }
  c.release();
  await pool.end();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
