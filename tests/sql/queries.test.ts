import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { testPool } from '../support/db.js';
import { expandQuery, type Variable } from '../../sql/grafana-macros.js';
import { queryNames, readQuery } from '../../sql/queries.js';

/**
 * Every sql/queries file, expanded as Grafana would for a fixed range, run on real Postgres against
 * rows seeded here. The rows live in a schema of this test's own (tables LIKE the migrated ones,
 * search_path on one client), so the all-time and NOW()-window queries of the design note see
 * exactly these rows and nothing other tests write.
 */

const DAY = 86_400_000;
const RANGE = { from: new Date('2001-03-01T00:00:00Z'), to: new Date('2001-03-31T23:59:59Z') };
const ENDPOINTS = ['chat.completions', 'embeddings', 'personas.generate'];
const MODELS: Record<string, string> = {
  'chat.completions': 'gpt-4o',
  embeddings: 'text-embedding-3-small',
  'personas.generate': 'gpt-4o-mini',
};
const TENANTS = ['t-a', 't-b'];
const STATUSES = ['miss', 'hit', 'idempotent_replay', 'coalesced', 'bypass', 'hit', 'miss'] as const;

interface Call {
  id: string;
  endpoint: string;
  model: string;
  tenant: string;
  cacheStatus: string;
  cost: number;
  saved: number;
  at: Date;
}

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

// 5 days x 3 endpoints x 7 calls in range, plus calls just outside it on both sides.
function seedCalls(): { inRange: Call[]; outside: Call[] } {
  const inRange: Call[] = [];
  let n = 1;
  for (let day = 0; day < 5; day++) {
    for (const [e, endpoint] of ENDPOINTS.entries()) {
      STATUSES.forEach((cacheStatus, i) => {
        const served = cacheStatus === 'hit' || cacheStatus === 'idempotent_replay' || cacheStatus === 'coalesced';
        // Costs in whole 1/10000 dollars keep the expected sums exact.
        const cost = served ? 0 : (day + 1) * (e + 1) * (i + 1) * 0.0001;
        inRange.push({
          id: uuid(n++),
          endpoint,
          model: MODELS[endpoint] as string,
          tenant: TENANTS[i % 2] as string,
          cacheStatus,
          cost,
          saved: served ? (i + 1) * 0.001 : 0,
          // Spread over the day, hours 1..14, so UTC-day grouping is what is tested.
          at: new Date(RANGE.from.getTime() + day * 3 * DAY + (1 + 2 * i) * 3_600_000),
        });
      });
    }
  }
  const outside: Call[] = [
    new Date('2001-02-28T23:59:59Z'),
    new Date('2001-04-01T00:00:01Z'),
  ].map((at, i) => ({
    id: uuid(900 + i),
    endpoint: 'chat.completions',
    model: 'gpt-4o',
    tenant: 't-a',
    cacheStatus: 'hit',
    cost: 5,
    saved: 5,
    at,
  }));
  return { inRange, outside };
}

const { inRange, outside } = seedCalls();
const allCalls = [...inRange, ...outside];
const dayStart = (d: Date): number => Math.floor(d.getTime() / DAY) * DAY;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
// A selection in a multi-value variable (Scenes keeps it an array, even of one value).
const all = (values: string[]): Variable => ({ value: values, multi: true, includeAll: true });
// "All", as the app and the dashboard send it: the custom all value, inserted verbatim.
const ALL_VALUE = "'__all'";
const allSelected = (options: string[]): Variable => ({ value: options, multi: true, includeAll: true, all: true, allValue: ALL_VALUE });
const ALL_VARS: Record<string, Variable> = {
  endpoint: allSelected(ENDPOINTS),
  model: allSelected(Object.values(MODELS)),
  tenant: allSelected(TENANTS),
};

const ROLLUP_TABLES = ['call_log_pending', 'call_log_hourly', 'call_log_daily', 'call_log_attr_hourly', 'call_log_attr_daily',
  'call_log_attr_tenant_hourly', 'call_log_attr_tenant_daily', 'call_log_tenant_hourly', 'call_log_tenant_daily',
  'call_log_latency_pending', 'call_log_latency_hourly', 'call_log_latency_daily', 'call_log_latency_tenant_daily',
  'cache_entries_pending', 'cache_entries_hourly',
  'cache_entries_daily'];
let pool: pg.Pool;
let client: pg.PoolClient;
let schema: string;
// Persona and request rows at fixed offsets from now, for the design note's NOW() windows.
const now = Date.now();
const personaAgesHours = [2, 3, 30, 50, 100, 24 * 10, 24 * 40, 24 * 400];
const requestAgesHours = [1, 26, 24 * 5, 24 * 29, 24 * 31];

/** Every variable a query may use, drill-down ones included. */
const drillVars = () => ({ ...ALL_VARS, drill_endpoint: { value: 'embeddings' }, drill_model: { value: 'text-embedding-3-small' }, call_id: { value: uuid(1) }, drill_tenant: { value: 't-a' }, app_user: allSelected(['alice']), tag: allSelected(['team:a']) });

async function run(name: string, variables: Record<string, Variable> = ALL_VARS): Promise<Record<string, unknown>[]> {
  const sql = expandQuery(readQuery(name), { range: RANGE, variables });
  return (await client.query(sql)).rows as Record<string, unknown>[];
}

beforeAll(async () => {
  pool = await testPool(2);
  client = await pool.connect();
  schema = `sqltest_${randomBytes(4).toString('hex')}`;
  await client.query(`CREATE SCHEMA ${schema}`);
  for (const t of ['openai_call_log', 'persona_cache', 'request_log', 'response_cache', 'tenant_names', ...ROLLUP_TABLES]) {
    await client.query(`CREATE TABLE ${schema}.${t} (LIKE public.${t} INCLUDING ALL)`);
  }
  // The rollup triggers (migrations 011, 015, 021) of the call log and the caches, on this schema's copies.
  for (const table of ['openai_call_log', 'persona_cache', 'request_log']) {
    for (const t of (await client.query(
      `SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal`, [`public.${table}`],
    )).rows as Array<{ def: string }>) {
      await client.query(t.def.replace(` ON public.${table} `, ` ON ${schema}.${table} `));
    }
  }
  // pg_catalog stays first implicitly; our tables are found before public's, and public's functions
  // (call_log_facts, the triggers' functions) after them, reading our tables too.
  await client.query(`SET search_path TO ${schema}, public`);
  await client.query(`SET TIME ZONE 'UTC'`);

  for (const c of allCalls) {
    await client.query(
      `INSERT INTO openai_call_log (id, endpoint, model, tokens_prompt, tokens_completion, cost_usd, created_at,
         request_id, tenant, status_code, cache_status, cost_saved_usd, latency_ms, ttfb_ms)
       VALUES ($1, $2, $3, 10, 5, $4, $5, $6, $7, 200, $8, $9, 120, 40)`,
      [c.id, c.endpoint, c.model, c.cost, c.at, `req-${c.id}`, c.tenant, c.cacheStatus, c.saved],
    );
  }
  // 3 persona sets in range (2 on 2001-03-01, 1 on 2001-03-04) plus the NOW()-relative ones.
  const personaTimes = [
    new Date('2001-03-01T05:00:00Z'),
    new Date('2001-03-01T23:00:00Z'),
    new Date('2001-03-04T00:30:00Z'),
    ...personaAgesHours.map((h) => new Date(now - h * 3_600_000)),
  ];
  for (const [i, at] of personaTimes.entries()) {
    await client.query(
      `INSERT INTO persona_cache (input_hash, personas_json, created_at, tenant, model, cost_usd, hit_count, expires_at)
       VALUES ($1, '[]', $2, 't-a', 'gpt-4o-mini', 0.01, $3, $2::timestamptz + interval '1 day')`,
      [`hash-${i}`, at, i],
    );
  }
  const requestTimes = [
    new Date('2001-03-02T10:00:00Z'),
    new Date('2001-03-02T11:00:00Z'),
    new Date('2001-03-05T12:00:00Z'),
    ...requestAgesHours.map((h) => new Date(now - h * 3_600_000)),
  ];
  for (const [i, at] of requestTimes.entries()) {
    await client.query(
      `INSERT INTO request_log (request_hash, created_at, tenant, fingerprint, path, endpoint, expires_at)
       VALUES ($1, $2, 't-b', 'f', '/v1/chat/completions', 'chat.completions', $2::timestamptz + interval '1 day')`,
      [`rh-${i}`, at],
    );
  }
  // Most deltas folded into the rollups, the last ones left pending: panels must add both.
  await client.query('SELECT tollgate_call_log_fold(40)');
  await client.query(
    `INSERT INTO response_cache (tenant, cache_key, path, endpoint, model, status_code, response_json, cost_usd, expires_at, hit_count)
     VALUES ('t-b', 'ck-1', '/v1/embeddings', 'embeddings', 'text-embedding-3-small', 200, '{}', 0.5, now(), 100)`,
  );
  // Created in range (the Cache page's top entries are those of the time range).
  await client.query(`UPDATE response_cache SET created_at = '2001-03-10T00:00:00Z'`
  );
});

afterAll(async () => {
  // The embedded PGlite serves every connection from one session, so the settings above are seen
  // by the other test files too: put them back before the schema goes.
  await client?.query('RESET search_path');
  await client?.query('RESET TIME ZONE');
  await client?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  client?.release();
  await pool?.end();
});

describe('sql/queries on real Postgres', () => {
  it('every query file expands and runs', async () => {
    const vars = drillVars();
    const names = queryNames();
    expect(names.length).toBeGreaterThanOrEqual(25);
    for (const name of names) {
      await expect(run(name, vars)).resolves.toBeInstanceOf(Array);
    }
  });

  it('panel 1 (daily cost by endpoint) sums per endpoint and UTC day equal the seeded totals', async () => {
    const rows = await run('panel1_daily_cost_by_endpoint');
    const expected = new Map<string, number>();
    for (const c of inRange) {
      const key = `${dayStart(c.at) / 1000}|${c.endpoint}`;
      expected.set(key, (expected.get(key) ?? 0) + c.cost);
    }
    expect(rows).toHaveLength(expected.size);
    for (const r of rows) {
      expect(Number(r.value)).toBeCloseTo(expected.get(`${Number(r.time)}|${String(r.endpoint)}`) as number, 10);
    }
    // The app's filtered variant agrees, and the endpoint variable narrows it.
    const one = await run('costs_daily_by_endpoint', { ...ALL_VARS, endpoint: all(['embeddings']) });
    expect(one.map((r) => r.metric)).toEqual(Array(5).fill('embeddings'));
    expect(sum(one.map((r) => Number(r.cost_usd)))).toBeCloseTo(sum(inRange.filter((c) => c.endpoint === 'embeddings').map((c) => c.cost)), 10);
  });

  it('stat row: total cost, calls, exact hit ratio and cost saved, excluding calls outside the range', async () => {
    const [cost] = await run('stat_total_cost');
    expect(Number(cost?.total_cost_usd)).toBeCloseTo(sum(inRange.map((c) => c.cost)), 10);
    const [calls] = await run('stat_calls');
    expect(Number(calls?.calls)).toBe(inRange.length);
    const [ratio] = await run('stat_hit_ratio');
    const hits = inRange.filter((c) => c.cacheStatus === 'hit').length;
    expect(Number(ratio?.hit_ratio)).toBeCloseTo(hits / inRange.length, 12);
    expect(hits / inRange.length).toBeCloseTo(2 / 7, 12);
    const [saved] = await run('stat_cost_saved');
    expect(Number(saved?.saved_by_cache_usd)).toBeCloseTo(sum(inRange.filter((c) => c.cacheStatus === 'hit').map((c) => c.saved)), 10);
    expect(Number(saved?.saved_by_idempotency_usd)).toBeCloseTo(
      sum(inRange.filter((c) => c.cacheStatus === 'idempotent_replay' || c.cacheStatus === 'coalesced').map((c) => c.saved)),
      10,
    );
    const [tb] = await run('stat_calls', { ...ALL_VARS, tenant: all(['t-b']) });
    expect(Number(tb?.calls)).toBe(inRange.filter((c) => c.tenant === 't-b').length);
  });

  it('hit ratio per day equals the seeded ratio; the approximate panel 5 follows the design note formula', async () => {
    const rows = await run('hit_ratio');
    expect(rows).toHaveLength(5);
    for (const r of rows) {
      expect(Number(r.hit_ratio)).toBeCloseTo(2 / 7, 12);
    }
    const [approx] = await run('panel5_persona_hit_ratio_approx');
    const personaCalls = allCalls.filter((c) => c.endpoint === 'personas.generate').length;
    const personaSets = 3 + personaAgesHours.length;
    expect(Number(approx?.num_calls)).toBe(personaCalls);
    expect(Number(approx?.num_unique_sets)).toBe(personaSets);
    expect(Number(approx?.cache_hit_ratio)).toBeCloseTo(1 - personaSets / personaCalls, 12);
  });

  it('panel 4 and the model drill-down: cost per model equals the seeded totals', async () => {
    const rows = await run('panel4_model_cost_breakdown');
    for (const r of rows) {
      expect(Number(r.total_cost_usd)).toBeCloseTo(sum(allCalls.filter((c) => c.model === r.model).map((c) => c.cost)), 10);
    }
    expect(rows.map((r) => r.model)).toEqual(['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small']);
    const inEndpoint = await run('costs_models_in_endpoint', { ...ALL_VARS, drill_endpoint: { value: 'embeddings' } });
    expect(inEndpoint).toHaveLength(1);
    expect(Number(inEndpoint[0]?.calls)).toBe(35);
    const calls = await run('costs_calls', {
      ...ALL_VARS,
      drill_endpoint: { value: 'embeddings' },
      drill_model: { value: 'text-embedding-3-small' },
    });
    expect(calls).toHaveLength(35);
    const [detail] = await run('call_detail', { call_id: { value: String(calls[0]?.call_id) } });
    expect(detail).toMatchObject({ endpoint: 'embeddings', latency_ms: 120, ttfb_ms: 40, request_id: `req-${String(calls[0]?.call_id)}` });
  });

  it('cache and idempotency panels count the seeded rows', async () => {
    const growth = await run('panel2_persona_cache_growth');
    expect(growth.map((r) => [Number(r.time), Number(r.value)])).toEqual([
      [Date.UTC(2001, 2, 1) / 1000, 2],
      [Date.UTC(2001, 2, 4) / 1000, 1],
    ]);
    const stored = await run('panel3_idempotent_requests');
    expect(stored.map((r) => [Number(r.time), Number(r.value)])).toEqual([
      [Date.UTC(2001, 2, 2) / 1000, 2],
      [Date.UTC(2001, 2, 5) / 1000, 1],
    ]);
    const replays = await run('idem_replays_daily');
    expect(sum(replays.map((r) => Number(r.requests)))).toBe(inRange.filter((c) => c.cacheStatus === 'idempotent_replay' || c.cacheStatus === 'coalesced').length);
    const byEndpoint = await run('idem_replays_by_endpoint');
    expect(byEndpoint.map((r) => [r.endpoint, Number(r.replays), Number(r.coalesced)])).toEqual(
      ENDPOINTS.map((e) => [e, 5, 5]),
    );
    const top = await run('cache_top_entries');
    expect(top[0]).toMatchObject({ kind: 'response', key: 'ck-1', hit_count: 100 });
    expect(Number(top[0]?.saved_usd)).toBeCloseTo(50, 10);
  });

  it("design note section 1 NOW() windows: totals, 30-day daily counts and age buckets", async () => {
    const [pTotal] = await run('note_persona_cache_total');
    expect(Number(pTotal?.total_persona_cache_entries)).toBe(3 + personaAgesHours.length);
    const [rTotal] = await run('note_request_log_total');
    expect(Number(rTotal?.total_idempotent_entries)).toBe(3 + requestAgesHours.length);

    const perDay = (ages: number[]): Array<[string, number]> => {
      const m = new Map<string, number>();
      for (const h of ages.filter((a) => a < 24 * 30)) {
        const d = new Date(now - h * 3_600_000).toISOString().slice(0, 10);
        m.set(d, (m.get(d) ?? 0) + 1);
      }
      return [...m.entries()].sort();
    };
    const isoDay = (v: unknown): string => (v as Date).toISOString().slice(0, 10);
    const pDaily = await run('note_persona_cache_daily_30d');
    expect(pDaily.map((r) => [isoDay(r.day), Number(r.new_entries)])).toEqual(perDay(personaAgesHours));
    const rDaily = await run('note_request_log_daily_30d');
    expect(rDaily.map((r) => [isoDay(r.day), Number(r.requests_deduped)])).toEqual(perDay(requestAgesHours));

    const buckets = await run('note_persona_cache_age_buckets');
    // 2h, 3h | 30h, 50h, 100h | 10 days | 40 days, 400 days and the three rows from 2001.
    expect(buckets.map((r) => [r.age_bucket, Number(r.count)])).toEqual([
      ['0-1 days', 2],
      ['1-7 days', 3],
      ['7-30 days', 1],
      ['30+ days', 5],
    ]);
    // The note's 30-day cost query sees none of the 2001 rows.
    expect(await run('note_cost_by_endpoint_daily_30d')).toEqual([]);
  });

  it('"All" is the custom all value, so it works with no options at all (an empty log)', async () => {
    const noOptions: Record<string, Variable> = {
      endpoint: allSelected([]),
      model: allSelected([]),
      tenant: allSelected([]),
    };
    const sql = expandQuery(readQuery('stat_calls'), { range: RANGE, variables: noOptions });
    expect(sql).toContain("ARRAY['__all'], ARRAY['__all'], ARRAY['__all']");
    const [calls] = await run('stat_calls', noOptions);
    expect(Number(calls?.calls)).toBe(inRange.length);
    // Without a custom all value Grafana would send the empty option list as `IN ()`: invalid SQL.
    const listAll = { ...ALL_VARS, endpoint: { ...all([]), all: true } };
    await expect(run('stat_calls', listAll)).rejects.toThrow(/syntax error|cannot determine type of empty array/);
    await expect(run('cache_top_entries', listAll)).rejects.toThrow(/syntax error/);
  });

  it('every filter variable is guarded by the all value, and selections narrow like IN', async () => {
    for (const name of queryNames()) {
      const text = readQuery(name);
      for (const v of ['endpoint', 'model', 'tenant']) {
        const uses = text.split(`($${v})`).length - 1;
        // `col IN ($v)`, or a constant column in the selection (persona entries are personas.generate's,
        // a drill-down's endpoint and model are fixed); call_log_facts takes the selection as ARRAY[$v].
        const guarded = [...text.matchAll(new RegExp(`\\('__all' IN \\(\\$${v}\\) OR (${v}|'[^']+') IN \\(\\$${v}\\)\\)`, 'g'))].length;
        // ... or a test of the all value alone, which picks the rollup a branch reads.
        const only = text.split(`AND '__all' IN ($${v})`).length - 1 + text.split(`WHERE '__all' IN ($${v})`).length - 1
          + text.split(`NOT ('__all' IN ($${v})`).length - 1;
        expect([name, v, uses]).toEqual([name, v, 2 * guarded + only]);
      }
      // Macros and variables stay out of comments: Grafana versions differ on stripping them first.
      const comments = text.match(/--[^\n]*/g) ?? [];
      expect([name, comments.filter((c) => /\$\w+\(|\$\{?[a-z_]+/.test(c))]).toEqual([name, []]);
    }
    const two = await run('stat_calls', { ...ALL_VARS, endpoint: all(['embeddings', 'chat.completions']) });
    expect(Number(two[0]?.calls)).toBe(inRange.filter((c) => c.endpoint !== 'personas.generate').length);
  });

  it("a tenant with a quote in its name is a literal, not SQL", async () => {
    const [none] = await run('stat_calls', { ...ALL_VARS, tenant: all(["t-a' OR 'x'='x"]) });
    expect(Number(none?.calls)).toBe(0);
    const top = await run('cache_top_entries', { ...ALL_VARS, tenant: all(["o'brien", 't-b']) });
    expect(top.map((r) => r.key)).toEqual(['ck-1']);
  });

  it('the variable queries list each distinct value once, sorted', async () => {
    expect((await run('var_endpoint')).map((r) => r.__value)).toEqual(ENDPOINTS);
    expect((await run('var_tenant')).map((r) => r.__value)).toEqual(TENANTS);
    expect((await run('var_model')).map((r) => r.__value)).toEqual(['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small']);
  });

  it('the tenant variable shows the names operators gave tenants, and filters by the tenant itself', async () => {
    await client.query(`INSERT INTO tenant_names (tenant, display_name) VALUES ('t-b', 'Billing team')`);
    try {
      expect(await run('var_tenant')).toEqual([
        { __value: 't-b', __text: 'Billing team' },
        { __value: 't-a', __text: 't-a' },
      ]);
    } finally {
      await client.query(`DELETE FROM tenant_names WHERE tenant = 't-b'`);
    }
  });
});

describe('the Grafana role (migrations 003 and 007)', () => {
  /** Runs `fn` as tollgate_grafana on the real tables, in a transaction rolled back afterwards. */
  async function asGrafana(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL ROLE tollgate_grafana');
      await c.query('SET LOCAL search_path TO public');
      await fn(c);
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  }

  /** `sql` is refused for want of a privilege (a savepoint keeps the transaction usable). */
  async function expectDenied(c: pg.PoolClient, sql: string): Promise<void> {
    await c.query('SAVEPOINT s');
    await expect(c.query(sql)).rejects.toThrow(/permission denied/);
    await c.query('ROLLBACK TO SAVEPOINT s');
  }

  it('cannot read cached prompts and answers, only the caches\' bookkeeping', async () => {
    await asGrafana(async (c) => {
      const bodies = [
        'personas_json FROM public.persona_cache',
        'response_json FROM public.request_log',
        'response_text FROM public.request_log',
        'response_raw FROM public.request_log',
        'response_json FROM public.response_cache',
        'sse_text FROM public.response_cache',
        'response_headers FROM public.response_cache',
        '* FROM public.response_cache',
      ];
      for (const what of bodies) await expectDenied(c, `SELECT ${what} LIMIT 1`);
    });
  });

  it('can run every panel query', async () => {
    await asGrafana(async (c) => {
      for (const name of queryNames()) {
        await expect(c.query(expandQuery(readQuery(name), { range: RANGE, variables: drillVars() }))).resolves.toBeDefined();
      }
    });
  });

  it('can read the four tables and nothing else, and cannot write', async () => {
    await asGrafana(async (c) => {
      for (const t of ['openai_call_log', 'persona_cache', 'request_log', 'response_cache']) {
        await c.query(`SELECT count(*) FROM public.${t}`);
      }
      await expectDenied(c, 'SELECT count(*) FROM public.inflight_request');
      await expectDenied(c, `DELETE FROM public.persona_cache WHERE input_hash = 'none'`);
    });
  });
});

describe('rollups (migrations 011, 021, 024): panels over the facts functions equal the raw rows', () => {
  // The sums every panel takes from call_log_facts, per UTC day and dimension, against the same sums
  // computed from the raw rows; costs as exact NUMERIC text, so a lost 1e-10 USD fails.
  const FACTS = `SELECT floor(extract(epoch FROM bucket) / 86400) AS day, endpoint, model,
      SUM(calls) AS calls, SUM(calls_proxy) AS proxied, SUM(hits) AS hits, SUM(replays) AS replays, SUM(coalesced) AS coalesced,
      (CASE WHEN SUM(cost_rows) <> 0 THEN SUM(cost_e10) * 1e-10 END)::numeric(30,10)::text AS cost,
      (SUM(saved_e10) * 1e-10)::numeric(30,10)::text AS saved,
      (CASE WHEN SUM(saved_hit_rows) <> 0 THEN SUM(saved_hit_e10) * 1e-10 END)::numeric(30,10)::text AS saved_hit, SUM(tokens_prompt) AS tp, SUM(tokens_completion) AS tc,
      SUM(errors) AS errors, SUM(rate_limited) AS rate_limited, SUM(aborted) AS aborted
    FROM call_log_facts($1, $2, $3, $4, $5, $6) GROUP BY 1, 2, 3 HAVING SUM(calls) <> 0 ORDER BY 1, 2, 3`;
  const RAW = `SELECT floor(extract(epoch FROM created_at) / 86400) AS day, endpoint, model,
      COUNT(*) AS calls, COUNT(*) FILTER (WHERE cache_status <> 'external') AS proxied,
      COUNT(*) FILTER (WHERE cache_status = 'hit') AS hits, COUNT(*) FILTER (WHERE cache_status = 'idempotent_replay') AS replays,
      COUNT(*) FILTER (WHERE cache_status = 'coalesced') AS coalesced,
      SUM(cost_usd)::numeric(30,10)::text AS cost, COALESCE(SUM(cost_saved_usd), 0)::numeric(30,10)::text AS saved,
      (SUM(cost_saved_usd) FILTER (WHERE cache_status = 'hit'))::numeric(30,10)::text AS saved_hit,
      COALESCE(SUM(tokens_prompt), 0) AS tp, COALESCE(SUM(tokens_completion), 0) AS tc,
      COUNT(*) FILTER (WHERE cache_status <> 'external' AND status_code >= 400 AND NOT client_aborted) AS errors,
      COUNT(*) FILTER (WHERE cache_status <> 'external' AND status_code = 429) AS rate_limited,
      COUNT(*) FILTER (WHERE cache_status <> 'external' AND client_aborted) AS aborted
    FROM openai_call_log WHERE created_at BETWEEN $1 AND $2
      AND ('__all' = ANY ($3) OR endpoint = ANY ($3)) AND ('__all' = ANY ($4) OR model = ANY ($4))
      AND ('__all' = ANY ($5) OR tenant = ANY ($5)) AND $6::text IS NOT NULL
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;
  // The Tenants page's facts (021), per UTC day and every key column, against the raw rows.
  // (Without endpoint and model selected, its rollup rows do not carry them: the Tenants panels never group by them.)
  const ATTR_FACTS = `SELECT floor(extract(epoch FROM bucket) / 86400) AS day, tenant, app_user, tags,
      SUM(calls) AS calls, SUM(calls_proxy) AS proxied, SUM(hits) AS hits,
      (CASE WHEN SUM(cost_rows) <> 0 THEN SUM(cost_e10) * 1e-10 END)::numeric(30,10)::text AS cost,
      (SUM(saved_e10) * 1e-10)::numeric(30,10)::text AS saved, (SUM(saved_hit_e10) * 1e-10)::numeric(30,10)::text AS saved_hit,
      (SUM(saved_idem_e10) * 1e-10)::numeric(30,10)::text AS saved_idem
    FROM call_log_attr_facts($1, $2, $3, $4, $5, $6, $7) GROUP BY 1, 2, 3, 4 HAVING SUM(calls) <> 0 ORDER BY 1, 2, 3, 4`;
  const ATTR_RAW = `SELECT floor(extract(epoch FROM created_at) / 86400) AS day, tenant, app_user, tags,
      COUNT(*) AS calls, COUNT(*) FILTER (WHERE cache_status <> 'external') AS proxied, COUNT(*) FILTER (WHERE cache_status = 'hit') AS hits,
      SUM(cost_usd)::numeric(30,10)::text AS cost, COALESCE(SUM(cost_saved_usd), 0)::numeric(30,10)::text AS saved,
      COALESCE(SUM(cost_saved_usd) FILTER (WHERE cache_status = 'hit'), 0)::numeric(30,10)::text AS saved_hit,
      COALESCE(SUM(cost_saved_usd) FILTER (WHERE cache_status IN ('idempotent_replay', 'coalesced')), 0)::numeric(30,10)::text AS saved_idem
    FROM openai_call_log WHERE created_at BETWEEN $1 AND $2
      AND ('__all' = ANY ($3) OR endpoint = ANY ($3)) AND ('__all' = ANY ($4) OR model = ANY ($4))
      AND ('__all' = ANY ($5) OR tenant = ANY ($5)) AND ('__all' = ANY ($6) OR app_user = ANY ($6))
      AND ('__all' = ANY ($7) OR tags && $7)
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`;
  // The per-tenant rollups (024), per UTC day and tenant; only a tenant selection reaches them.
  const TENANT_FACTS = `SELECT floor(extract(epoch FROM bucket) / 86400) AS day, tenant,
      SUM(calls) AS calls, SUM(calls_proxy) AS proxied, SUM(hits) AS hits,
      (CASE WHEN SUM(cost_rows) <> 0 THEN SUM(cost_e10) * 1e-10 END)::numeric(30,10)::text AS cost,
      (SUM(saved_e10) * 1e-10)::numeric(30,10)::text AS saved, (SUM(saved_hit_e10) * 1e-10)::numeric(30,10)::text AS saved_hit,
      (SUM(saved_idem_e10) * 1e-10)::numeric(30,10)::text AS saved_idem
    FROM call_log_tenant_facts($1, $2, $3) GROUP BY 1, 2 HAVING SUM(calls) <> 0 ORDER BY 1, 2`;
  const TENANT_RAW = `SELECT floor(extract(epoch FROM created_at) / 86400) AS day, tenant,
      COUNT(*) AS calls, COUNT(*) FILTER (WHERE cache_status <> 'external') AS proxied, COUNT(*) FILTER (WHERE cache_status = 'hit') AS hits,
      SUM(cost_usd)::numeric(30,10)::text AS cost, COALESCE(SUM(cost_saved_usd), 0)::numeric(30,10)::text AS saved,
      COALESCE(SUM(cost_saved_usd) FILTER (WHERE cache_status = 'hit'), 0)::numeric(30,10)::text AS saved_hit,
      COALESCE(SUM(cost_saved_usd) FILTER (WHERE cache_status IN ('idempotent_replay', 'coalesced')), 0)::numeric(30,10)::text AS saved_idem
    FROM openai_call_log WHERE created_at BETWEEN $1 AND $2 AND ('__all' = ANY ($3) OR tenant = ANY ($3))
    GROUP BY 1, 2 ORDER BY 1, 2`;
  // The latency histograms (021): per bin, exactly the raw rows' counts; by_model keeps (endpoint, model).
  const LATENCY_FACTS = `SELECT CASE WHEN $7 THEN endpoint END AS endpoint, CASE WHEN $7 THEN model END AS model, bin,
      SUM(latency) AS latency, SUM(ttfb) AS ttfb, SUM(overhead) AS overhead
    FROM call_log_latency_facts($1, $2, $3, $4, $5, $6, $7) GROUP BY 1, 2, 3
    HAVING SUM(latency) <> 0 OR SUM(ttfb) <> 0 OR SUM(overhead) <> 0 ORDER BY 1, 2, 3`;
  const LATENCY_RAW = `SELECT CASE WHEN $7 THEN endpoint END AS endpoint, CASE WHEN $7 THEN model END AS model, b.bin,
      COUNT(*) FILTER (WHERE b.metric = 1) AS latency, COUNT(*) FILTER (WHERE b.metric = 2) AS ttfb,
      COUNT(*) FILTER (WHERE b.metric = 3) AS overhead
    FROM openai_call_log c
    CROSS JOIN LATERAL (VALUES (1, tollgate_latency_bin(latency_ms)), (2, CASE WHEN stream THEN tollgate_latency_bin(ttfb_ms) END),
                               (3, tollgate_latency_bin(latency_ms::bigint - upstream_ms))) AS b (metric, bin)
    WHERE created_at BETWEEN $1 AND $2 AND cache_status <> 'external' AND b.bin IS NOT NULL
      AND ('__all' = ANY ($3) OR endpoint = ANY ($3)) AND ('__all' = ANY ($4) OR model = ANY ($4))
      AND ('__all' = ANY ($5) OR tenant = ANY ($5)) AND $6::text IS NOT NULL
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;
  // Percentiles read from the histograms against percentile_cont over the raw rows.
  const PCT_FACTS = `WITH h AS (SELECT bin, SUM(latency) AS l, SUM(ttfb) AS t, SUM(overhead) AS o
                      FROM call_log_latency_facts($1, $2, $3, $4, $5, $6, false) GROUP BY bin)
    SELECT tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(l ORDER BY bin), '{0.5,0.95,0.99}')
        || tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(t ORDER BY bin), '{0.5,0.95}')
        || tollgate_percentiles(array_agg(bin ORDER BY bin), array_agg(o ORDER BY bin), '{0.5,0.95}') AS p FROM h`;
  const PCT_RAW = `SELECT ARRAY[percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms),
        percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms),
        percentile_cont(0.5) WITHIN GROUP (ORDER BY ttfb_ms) FILTER (WHERE stream), percentile_cont(0.95) WITHIN GROUP (ORDER BY ttfb_ms) FILTER (WHERE stream),
        percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN latency_ms < upstream_ms THEN 0 ELSE latency_ms - upstream_ms END),
        percentile_cont(0.95) WITHIN GROUP (ORDER BY CASE WHEN latency_ms < upstream_ms THEN 0 ELSE latency_ms - upstream_ms END)] AS p
    FROM openai_call_log WHERE created_at BETWEEN $1 AND $2 AND cache_status <> 'external'
      AND ('__all' = ANY ($3) OR endpoint = ANY ($3)) AND ('__all' = ANY ($4) OR model = ANY ($4))
      AND ('__all' = ANY ($5) OR tenant = ANY ($5)) AND $6::text IS NOT NULL`;
  const T0 = Date.parse('2002-06-10T00:00:00Z');
  const H = 3_600_000;

  async function write(n: number, seed: number, at: (i: number) => number): Promise<void> {
    const rows = Array.from({ length: n }, (_, i) => {
      const k = seed * 1000 + i;
      return {
        endpoint: ['chat.completions', 'embeddings', 'responses'][k % 3], model: ['m1', 'm2'][k % 2],
        tokens_prompt: k % 5 === 0 ? null : k, tokens_completion: 7, cost_usd: k % 4 === 0 ? null : (k * 0.0000000123).toFixed(10),
        created_at: new Date(at(i)).toISOString(), request_id: `rx-${k}`, tenant: ['t-x', 't-y', 't-z'][k % 3 === 0 ? 0 : k % 7 % 3],
        status_code: [200, 200, 502, 429, 200, 400, 200][k % 7], cache_status: ['miss', 'hit', 'idempotent_replay', 'coalesced', 'bypass'][k % 5],
        cost_saved_usd: k % 5 === 1 ? (k % 3 === 0 ? null : '0.0012345678') : '0',
        app_user: k % 4 === 0 ? null : ['alice', 'bob', 'svc'][k % 3], tags: k % 6 === 0 ? null : [['team:a'], ['team:a', 'team:b'], ['job:x']][k % 3],
        latency_ms: k % 9 === 0 ? null : 5 + ((k * 37) % 4000), ttfb_ms: 3 + ((k * 13) % 900), upstream_ms: k % 5 === 1 ? null : ((k * 37) % 4000) - (k % 7),
        stream: k % 2 === 0, client_aborted: k % 23 === 0,
      };
    });
    // The proxy's writer: one statement per batch, json_populate_recordset, ON CONFLICT DO NOTHING.
    await client.query(
      `INSERT INTO openai_call_log (endpoint, model, tokens_prompt, tokens_completion, cost_usd, created_at, request_id, tenant,
         status_code, cache_status, cost_saved_usd, app_user, tags, latency_ms, ttfb_ms, upstream_ms, stream, client_aborted)
       SELECT endpoint, model, tokens_prompt, tokens_completion, cost_usd, created_at, request_id, tenant, status_code,
              cache_status, cost_saved_usd, app_user, tags, latency_ms, ttfb_ms, upstream_ms, stream, client_aborted
         FROM json_populate_recordset(NULL::openai_call_log, $1::json) ON CONFLICT DO NOTHING`,
      [JSON.stringify(rows)],
    );
  }

  async function expectExact(from: number, to: number, e = ['__all'], m = ['__all'], t = ['__all'], u = ['__all'], g = ['__all']): Promise<void> {
    const label = [new Date(from).toISOString(), new Date(to).toISOString(), e, m, t, u, g];
    for (const grain of ['day', 'hour']) {
      const params = [new Date(from), new Date(to), e, m, t, grain];
      expect([...label, grain, (await client.query(FACTS, params)).rows]).toEqual([...label, grain, (await client.query(RAW, params)).rows]);
      for (const byModel of [false, true]) {
        const lp = [...params, byModel];
        expect([...label, grain, byModel, (await client.query(LATENCY_FACTS, lp)).rows]).toEqual([...label, grain, byModel, (await client.query(LATENCY_RAW, lp)).rows]);
      }
      // Percentiles from the histograms: within 4.43 % of percentile_cont (values under 16 ms exact).
      const [fast] = (await client.query(PCT_FACTS, params)).rows as Array<{ p: Array<number | null> }>;
      const [exact] = (await client.query(PCT_RAW, params)).rows as Array<{ p: Array<number | null> }>;
      exact!.p.forEach((x, i) => {
        const y = fast!.p[i];
        if (x === null) expect([label, i, y]).toEqual([label, i, null]);
        else expect([label, i, x, y, Math.abs((y as number) - x) <= 0.0443 * x + 1e-9]).toEqual([label, i, x, y, true]);
      });
    }
    const ap = [new Date(from), new Date(to), e, m, t, u, g];
    expect([...label, (await client.query(ATTR_FACTS, ap)).rows]).toEqual([...label, (await client.query(ATTR_RAW, ap)).rows]);
    const tp = [new Date(from), new Date(to), t];
    expect([...label, (await client.query(TENANT_FACTS, tp)).rows]).toEqual([...label, (await client.query(TENANT_RAW, tp)).rows]);
  }

  it('for any range and filter, with folded, pending, late, deleted, replayed and five-column rows', async () => {
    await client.query(`DELETE FROM openai_call_log WHERE created_at >= '2002-01-01'`);
    await write(300, 1, (i) => T0 + i * 11 * 60_000 + 1234); // ~2.3 days, every 11 minutes
    await client.query('SELECT tollgate_call_log_fold(1000000)');
    await write(120, 2, (i) => T0 + 30 * H + i * 7 * 60_000); // a second batch, still pending
    await write(50, 3, (i) => T0 + 2 * H + i * 60_000); // rows hours late, into folded hours
    await write(300, 1, (i) => T0 + i * 11 * 60_000 + 1234); // a replayed batch: skipped by the unique key
    await client.query(`INSERT INTO openai_call_log (endpoint, model, tokens_prompt, tokens_completion, cost_usd, created_at)
                        VALUES ('embeddings', 'm1', 3, 0, 0.0000000001, '2002-06-10T05:30:00Z')`); // the design note's insert
    await client.query(`DELETE FROM openai_call_log WHERE request_id LIKE 'rx-10%'`); // a backfill replacing its rows
    await client.query(`UPDATE openai_call_log SET tenant = 't-y' WHERE request_id LIKE 'rx-20%'`);
    await client.query('SELECT tollgate_call_log_fold(7)'); // some of those folded, the rest pending
    expect(Number((await client.query('SELECT count(*) AS n FROM call_log_pending')).rows[0].n)).toBeGreaterThan(0);

    const ranges: Array<[number, number]> = [
      [T0 - 86_400_000, T0 + 4 * 86_400_000], // whole days
      [T0 + 37 * 60_000 + 17, T0 + 2 * 86_400_000 + 5 * H + 59 * 60_000], // partial hours at both ends
      [T0 + 3 * H + 10 * 60_000, T0 + 3 * H + 50 * 60_000], // inside one hour
      [T0 + 3 * H, T0 + 4 * H], // exactly one hour, both ends on the hour
      [T0 + 23 * H + 1, T0 + 49 * H - 1], // hours and days crossing midnight
    ];
    for (const [from, to] of ranges) {
      await expectExact(from, to);
      await expectExact(from, to, ['embeddings', 'responses'], ['__all'], ['t-y']);
      await expectExact(from, to, ['__all'], ['m2'], ['t-x', 't-z']);
      await expectExact(from, to, ['__all'], ['__all'], ['__all'], ['bob'], ['__all']);
      await expectExact(from, to, ['__all'], ['m1'], ['__all'], ['__all'], ['team:b', 'job:x']);
    }
    // Everything folded: still the same numbers.
    await client.query('SELECT tollgate_call_log_fold(1000000)');
    expect(Number((await client.query('SELECT count(*) AS n FROM call_log_pending')).rows[0].n)).toBe(0);
    for (const [from, to] of ranges) await expectExact(from, to, ['__all'], ['m1'], ['__all']);
    await client.query(`DELETE FROM openai_call_log WHERE created_at >= '2002-01-01'`);
    await client.query('SELECT tollgate_call_log_fold(1000000)');
  });

  it('the Tenants, Budget and cache panels equal their raw-row versions (tests/sql/raw), with any filter', async () => {
    const rawDir = new URL('./raw/', import.meta.url);
    const names = readdirSync(rawDir).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -4));
    expect(names.length).toBeGreaterThanOrEqual(10);
    await client.query(`DELETE FROM openai_call_log WHERE created_at >= '2002-01-01'`);
    await client.query(`INSERT INTO tenant_names (tenant, display_name, monthly_budget_usd) VALUES ('t-y', 'Yankee', 0.001)`);
    try {
      await write(300, 5, (i) => T0 + i * 11 * 60_000 + 1234);
      await client.query('SELECT tollgate_call_log_fold(1000000)');
      await write(120, 6, (i) => T0 + 30 * H + i * 7 * 60_000);
      await client.query(`DELETE FROM openai_call_log WHERE request_id LIKE 'rx-50%'`);
      await client.query(`UPDATE openai_call_log SET app_user = 'carol', tags = ARRAY['team:c'] WHERE request_id LIKE 'rx-51%'`);
      await client.query('SELECT tollgate_call_log_fold(7)');
      const ranges: Array<[number, number]> = [
        [T0 - 86_400_000, T0 + 4 * 86_400_000],
        [T0 + 37 * 60_000 + 17, T0 + 2 * 86_400_000 + 5 * H + 59 * 60_000],
        [T0 + 23 * H + 1, T0 + 49 * H - 1],
      ];
      const filters: Array<Record<string, Variable>> = [
        {},
        { tenant: all(['t-y']) },
        { endpoint: all(['embeddings']) },
        { model: all(['m2']) },
        { app_user: all(['bob']) },
        { tag: all(['team:b', 'job:x']) },
      ];
      let seen = 0;
      for (const name of names) {
        for (const [from, to] of ranges) {
          for (const f of filters) {
            const variables = { ...ALL_VARS, app_user: allSelected(['alice']), tag: allSelected(['team:a']), ...f };
            const opts = { range: { from: new Date(from), to: new Date(to) }, variables };
            const fast = (await client.query(expandQuery(readQuery(name), opts))).rows;
            const raw = (await client.query(expandQuery(readFileSync(new URL(`${name}.sql`, rawDir), 'utf8'), opts))).rows;
            expect([name, from, to, f, fast]).toEqual([name, from, to, f, raw]);
            seen += fast.length;
          }
        }
      }
      // Not vacuously equal: the panels returned rows (the cache panels' rows are elsewhere in time).
      expect(seen).toBeGreaterThan(500);
    } finally {
      await client.query(`DELETE FROM tenant_names WHERE tenant = 't-y'`);
      await client.query(`DELETE FROM openai_call_log WHERE created_at >= '2002-01-01'`);
      await client.query('SELECT tollgate_call_log_fold(1000000)');
    }
  });

  it('persona cache entries and stored responses: the rollups count the rows that exist', async () => {
    const FACTS_E = `SELECT floor(extract(epoch FROM bucket) / 86400) AS day, tenant, dim, SUM(entries) AS n
      FROM cache_entries_facts($1, $2, $3, $4, $5) GROUP BY 1, 2, 3 HAVING SUM(entries) <> 0 ORDER BY 1, 2, 3`;
    const RAW_E = `SELECT floor(extract(epoch FROM created_at) / 86400) AS day, tenant, dim, COUNT(*) AS n
      FROM (SELECT 'persona' AS kind, created_at, tenant, model AS dim FROM persona_cache
            UNION ALL SELECT 'stored', created_at, tenant, endpoint FROM request_log) x
      WHERE kind = $1 AND created_at BETWEEN $2 AND $3 AND ('__all' = ANY ($4) OR dim = ANY ($4)) AND ('__all' = ANY ($5) OR tenant = ANY ($5))
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;
    const T1 = Date.parse('2003-02-10T00:00:00Z');
    const put = async (from: number, n: number, tag: string): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const at = new Date(T1 + from + i * 7 * 60_000 + 999);
        await client.query(
          `INSERT INTO persona_cache (input_hash, personas_json, created_at, tenant, model, cost_usd, expires_at)
           VALUES ($1, '[]', $2, $3, $4, 0.01, $2::timestamptz + interval '1 day')`,
          [`ce-${tag}-${i}`, at, ['t-p', 't-q'][i % 2], ['mA', 'mB'][i % 3 === 0 ? 1 : 0]],
        );
        await client.query(
          `INSERT INTO request_log (request_hash, created_at, tenant, fingerprint, path, endpoint, expires_at)
           VALUES ($1, $2, $3, 'f', '/v1/x', $4, $2::timestamptz + interval '1 day')`,
          [`ce-${tag}-${i}`, at, ['t-p', 't-q'][i % 3 === 0 ? 1 : 0], ['chat.completions', 'embeddings'][i % 2]],
        );
      }
    };
    try {
      await put(0, 300, 'a'); // ~35 hours
      await client.query('SELECT tollgate_call_log_fold(1000000)');
      await put(20 * H, 60, 'b'); // pending, some into folded hours
      await client.query(`DELETE FROM persona_cache WHERE input_hash LIKE 'ce-a-1%'`); // expiry
      await client.query(`DELETE FROM request_log WHERE request_hash LIKE 'ce-b-2%'`);
      // A refreshed entry moves (the persona upsert sets created_at); hit counts and replays move nothing.
      await client.query(`UPDATE persona_cache SET created_at = created_at + interval '5 hours', model = 'mB' WHERE input_hash LIKE 'ce-a-2%'`);
      await client.query(`UPDATE persona_cache SET hit_count = hit_count + 1 WHERE input_hash LIKE 'ce-a-3%'`);
      await client.query(`UPDATE request_log SET created_at = created_at - interval '1 day', tenant = 't-q' WHERE request_hash LIKE 'ce-a-4%'`);
      await client.query(`UPDATE request_log SET replay_count = replay_count + 1 WHERE request_hash LIKE 'ce-a-5%'`);
      await client.query('SELECT tollgate_call_log_fold(5)');
      const ranges: Array<[number, number]> = [
        [T1 - 2 * 86_400_000, T1 + 3 * 86_400_000],
        [T1 + 37 * 60_000 + 17, T1 + 86_400_000 + 5 * H + 59 * 60_000],
        [T1 + 3 * H + 10 * 60_000, T1 + 3 * H + 50 * 60_000],
        [T1 + 23 * H + 1, T1 + 30 * H - 1],
      ];
      for (const [from, to] of ranges) {
        for (const [kind, dims, tenants] of [['persona', ['__all'], ['__all']], ['persona', ['mB'], ['t-p']], ['stored', ['__all'], ['__all']], ['stored', ['embeddings'], ['t-q']]] as const) {
          const params = [kind, new Date(from), new Date(to), dims, tenants];
          expect([kind, from, to, dims, tenants, (await client.query(FACTS_E, params)).rows]).toEqual([kind, from, to, dims, tenants, (await client.query(RAW_E, params)).rows]);
        }
      }
    } finally {
      await client.query(`DELETE FROM persona_cache WHERE input_hash LIKE 'ce-%'`);
      await client.query(`DELETE FROM request_log WHERE request_hash LIKE 'ce-%'`);
      await client.query('SELECT tollgate_call_log_fold(1000000)');
    }
  });

  it("the design note's raw panels 1 and 4 and their fast, filtered replacements agree", async () => {
    const p1 = await run('panel1_daily_cost_by_endpoint');
    const fast1 = await run('costs_daily_by_endpoint');
    expect(fast1.map((r) => [Number(r.time), r.metric, Number(r.cost_usd)])).toEqual(p1.map((r) => [Number(r.time), r.endpoint, Number(r.value)]));
    const p4 = await run('panel4_model_cost_breakdown');
    const all = await run('cost_by_model', ALL_VARS);
    // panel 4 is all time: the two calls outside the range are chat.completions / gpt-4o with a cost of 5 each.
    const byModel = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(all.map((r) => [r.model, Number(r.total_cost_usd) + (r.model === 'gpt-4o' ? 10 : 0)]).sort(byModel)).toEqual(
      p4.map((r) => [r.model, expect.closeTo(Number(r.total_cost_usd), 10)]).sort(byModel),
    );
  });

  it('each filter of the bar acts on every panel under it', async () => {
    const own = ['stat_total_cost', 'stat_calls', 'stat_cost_saved', 'costs_daily_by_endpoint', 'costs_by_endpoint', 'cost_by_model',
      'hit_ratio', 'cost_saved_daily', 'idem_replays_daily', 'idem_replays_by_endpoint', 'costs_models_in_endpoint', 'costs_calls',
      'persona_cache_daily', 'persona_cache_entries', 'persona_cache_age_buckets', 'persona_hit_ratio', 'stored_responses_daily',
      'stored_responses_total', 'cache_top_entries', 'var_model', 'var_tenant'];
    const drill = { drill_endpoint: { value: 'personas.generate' }, drill_model: { value: 'gpt-4o-mini' } };
    for (const name of own) {
      const base = JSON.stringify(await run(name, { ...ALL_VARS, ...drill }));
      const changed: string[] = [];
      for (const v of ['endpoint', 'model', 'tenant']) {
        if (!readQuery(name).includes(`$${v}`)) continue;
        const none = JSON.stringify(await run(name, { ...ALL_VARS, ...drill, [v]: all(['no-such-value']) }));
        if (none !== base) changed.push(v);
      }
      const vars = name === 'var_model' ? ['endpoint'] : name === 'var_tenant' ? ['endpoint', 'model'] : ['endpoint', 'model', 'tenant'];
      expect([name, changed]).toEqual([name, vars]);
      // And the time range: a range with no rows changes it too.
      const empty = expandQuery(readQuery(name), { range: { from: new Date('1990-01-01T00:00:00Z'), to: new Date('1990-01-02T00:00:00Z') }, variables: { ...ALL_VARS, ...drill } });
      expect([name, JSON.stringify((await client.query(empty)).rows) !== base]).toEqual([name, true]);
    }
  });
});
