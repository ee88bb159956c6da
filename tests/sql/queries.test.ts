import { randomBytes } from 'node:crypto';
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

const ROLLUP_TABLES = ['call_log_pending', 'call_log_hourly', 'call_log_daily'];
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
  // The call log's rollup triggers (migrations 011, 015), on this schema's copy of the log.
  for (const t of (await client.query(
    `SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgrelid = 'public.openai_call_log'::regclass AND NOT tgisinternal`,
  )).rows as Array<{ def: string }>) {
    await client.query(t.def.replace(' ON public.openai_call_log ', ` ON ${schema}.openai_call_log `));
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
        const only = text.split(`AND '__all' IN ($${v})`).length - 1;
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

describe('rollups (migration 011): panels over call_log_facts equal the raw rows', () => {
  // The sums every panel takes from call_log_facts, per UTC day and dimension, against the same sums
  // computed from the raw rows; costs as exact NUMERIC text, so a lost 1e-10 USD fails.
  const FACTS = `SELECT floor(extract(epoch FROM bucket) / 86400) AS day, endpoint, model,
      SUM(calls) AS calls, SUM(calls_proxy) AS proxied, SUM(hits) AS hits, SUM(replays) AS replays, SUM(coalesced) AS coalesced,
      (CASE WHEN SUM(cost_rows) <> 0 THEN SUM(cost_e10) * 1e-10 END)::numeric(30,10)::text AS cost,
      (SUM(saved_e10) * 1e-10)::numeric(30,10)::text AS saved,
      (CASE WHEN SUM(saved_hit_rows) <> 0 THEN SUM(saved_hit_e10) * 1e-10 END)::numeric(30,10)::text AS saved_hit, SUM(tokens_prompt) AS tp, SUM(tokens_completion) AS tc
    FROM call_log_facts($1, $2, $3, $4, $5) GROUP BY 1, 2, 3 HAVING SUM(calls) <> 0 ORDER BY 1, 2, 3`;
  const RAW = `SELECT floor(extract(epoch FROM created_at) / 86400) AS day, endpoint, model,
      COUNT(*) AS calls, COUNT(*) FILTER (WHERE cache_status <> 'external') AS proxied,
      COUNT(*) FILTER (WHERE cache_status = 'hit') AS hits, COUNT(*) FILTER (WHERE cache_status = 'idempotent_replay') AS replays,
      COUNT(*) FILTER (WHERE cache_status = 'coalesced') AS coalesced,
      SUM(cost_usd)::numeric(30,10)::text AS cost, COALESCE(SUM(cost_saved_usd), 0)::numeric(30,10)::text AS saved,
      (SUM(cost_saved_usd) FILTER (WHERE cache_status = 'hit'))::numeric(30,10)::text AS saved_hit,
      COALESCE(SUM(tokens_prompt), 0) AS tp, COALESCE(SUM(tokens_completion), 0) AS tc
    FROM openai_call_log WHERE created_at BETWEEN $1 AND $2
      AND ('__all' = ANY ($3) OR endpoint = ANY ($3)) AND ('__all' = ANY ($4) OR model = ANY ($4))
      AND ('__all' = ANY ($5) OR tenant = ANY ($5))
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;
  const T0 = Date.parse('2002-06-10T00:00:00Z');
  const H = 3_600_000;

  async function write(n: number, seed: number, at: (i: number) => number): Promise<void> {
    const rows = Array.from({ length: n }, (_, i) => {
      const k = seed * 1000 + i;
      return {
        endpoint: ['chat.completions', 'embeddings', 'responses'][k % 3], model: ['m1', 'm2'][k % 2],
        tokens_prompt: k % 5 === 0 ? null : k, tokens_completion: 7, cost_usd: k % 4 === 0 ? null : (k * 0.0000000123).toFixed(10),
        created_at: new Date(at(i)).toISOString(), request_id: `rx-${k}`, tenant: ['t-x', 't-y', 't-z'][k % 3 === 0 ? 0 : k % 7 % 3],
        status_code: 200, cache_status: ['miss', 'hit', 'idempotent_replay', 'coalesced', 'bypass'][k % 5],
        cost_saved_usd: k % 5 === 1 ? (k % 3 === 0 ? null : '0.0012345678') : '0',
      };
    });
    // The proxy's writer: one statement per batch, json_populate_recordset, ON CONFLICT DO NOTHING.
    await client.query(
      `INSERT INTO openai_call_log (endpoint, model, tokens_prompt, tokens_completion, cost_usd, created_at, request_id, tenant,
         status_code, cache_status, cost_saved_usd)
       SELECT endpoint, model, tokens_prompt, tokens_completion, cost_usd, created_at, request_id, tenant, status_code,
              cache_status, cost_saved_usd FROM json_populate_recordset(NULL::openai_call_log, $1::json) ON CONFLICT DO NOTHING`,
      [JSON.stringify(rows)],
    );
  }

  async function expectExact(from: number, to: number, e = ['__all'], m = ['__all'], t = ['__all']): Promise<void> {
    const params = [new Date(from), new Date(to), e, m, t];
    const facts = (await client.query(FACTS, params)).rows;
    const raw = (await client.query(RAW, params)).rows;
    expect([new Date(from).toISOString(), new Date(to).toISOString(), e, m, t, facts]).toEqual([new Date(from).toISOString(), new Date(to).toISOString(), e, m, t, raw]);
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
    }
    // Everything folded: still the same numbers.
    await client.query('SELECT tollgate_call_log_fold(1000000)');
    expect(Number((await client.query('SELECT count(*) AS n FROM call_log_pending')).rows[0].n)).toBe(0);
    for (const [from, to] of ranges) await expectExact(from, to, ['__all'], ['m1'], ['__all']);
    await client.query(`DELETE FROM openai_call_log WHERE created_at >= '2002-01-01'`);
    await client.query('SELECT tollgate_call_log_fold(1000000)');
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
