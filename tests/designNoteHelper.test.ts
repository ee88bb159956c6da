import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { eq } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { integer, numeric, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { CallLogWriter, type CallLogRow } from '../proxy/src/log/callLog.js';
import { expandQuery, type Variable } from '../sql/grafana-macros.js';
import { queryNames, readQuery } from '../sql/queries.js';
import { testPool } from './support/db.js';

/**
 * Issue 13: the design note's own logging helper (section 1.3, `logOpenAICall`) inserts only
 * endpoint, model, tokens_prompt, tokens_completion and cost_usd. On our migrated schema that insert
 * must work (migration 009 gives every other column a default), and its rows must count like the
 * proxy's on the cost, model and endpoint panels, and as neither hits nor misses in hit ratios.
 * Each test uses its own endpoint and model names: other test files share this database.
 */

interface LogOpts {
  endpoint: string;
  model: string;
  tokensPrompt?: number;
  tokensCompletion?: number;
  costUsd?: number;
}

// The design note's table, as its drizzle mapping would be: only its seven columns.
const openaiCallLog = pgTable('openai_call_log', {
  id: uuid('id').primaryKey().defaultRandom(),
  endpoint: text('endpoint').notNull(),
  model: text('model').notNull(),
  tokensPrompt: integer('tokens_prompt'),
  tokensCompletion: integer('tokens_completion'),
  costUsd: numeric('cost_usd', { precision: 10, scale: 6, mode: 'number' }),
  createdAt: timestamp('created_at', { withTimezone: true }).defaultNow(),
});

let pool: pg.Pool; // the proxy's, migrated (tests/support/db.ts)
let appPool: pg.Pool; // the app's own, a plain pg Pool as the note's `db/client` would be
let db: NodePgDatabase;
let consoleError: { mock: { calls: unknown[][] }; mockRestore: () => void };

// Design note 1.3, src/lib/logOpenAICall.ts: the same helper, through drizzle-orm...
async function logOpenAICall(opts: LogOpts) {
  try {
    await db.insert(openaiCallLog).values({
      endpoint: opts.endpoint,
      model: opts.model,
      tokensPrompt: opts.tokensPrompt ?? null,
      tokensCompletion: opts.tokensCompletion ?? null,
      costUsd: opts.costUsd ?? null,
    });
  } catch (e) {
    console.error('Failed to log OpenAI call', e);
  }
}

// ...and as plain SQL through pg.
async function logOpenAICallSql(opts: LogOpts) {
  try {
    await appPool.query(
      'INSERT INTO openai_call_log (endpoint, model, tokens_prompt, tokens_completion, cost_usd) VALUES ($1, $2, $3, $4, $5)',
      [opts.endpoint, opts.model, opts.tokensPrompt ?? null, opts.tokensCompletion ?? null, opts.costUsd ?? null],
    );
  } catch (e) {
    console.error('Failed to log OpenAI call', e);
  }
}

/** The note's helper swallows errors into console.error: a failed insert shows up here, with its message. */
function loggedErrors(): string[] {
  return consoleError.mock.calls.map((args) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
}

const tag = (): string => randomBytes(4).toString('hex');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Row = Record<string, unknown>;
async function rowsOf(endpoint: string): Promise<Row[]> {
  return (await pool.query('SELECT * FROM openai_call_log WHERE endpoint = $1 ORDER BY cost_usd DESC NULLS LAST', [endpoint])).rows as Row[];
}

/** What a row the note's helper wrote must look like: its own values, and a default everywhere else. */
function expectExternalDefaults(rows: Row[], before: Date, after: Date): void {
  for (const r of rows) {
    expect(r).toMatchObject({
      tenant: 'external',
      status_code: 200,
      cache_status: 'external',
      method: 'POST',
      path: '',
      stream: false,
      cost_saved_usd: 0,
      usage_source: 'none',
      client_aborted: false,
      upstream_request_id: null,
      tokens_cached: null,
      tokens_reasoning: null,
      latency_ms: null,
      ttfb_ms: null,
      upstream_ms: null,
      error_type: null,
    });
    expect(String(r.id)).toMatch(UUID);
    expect(String(r.request_id)).toMatch(UUID);
    const at = (r.created_at as Date).getTime();
    // The database's clock and ours: the same machine, a little slack either side.
    expect(at).toBeGreaterThanOrEqual(before.getTime() - 5_000);
    expect(at).toBeLessThanOrEqual(after.getTime() + 5_000);
  }
  // Generated per row, never one shared value.
  expect(new Set(rows.map((r) => r.request_id)).size).toBe(rows.length);
  expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
}

beforeAll(async () => {
  pool = await testPool(2);
  appPool = new pg.Pool({ connectionString: process.env.TEST_DATABASE_URL, max: 2 });
  db = drizzle({ client: appPool });
});

afterAll(async () => {
  await appPool?.end();
  await pool?.end();
});

beforeEach(() => {
  consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => {
  consoleError.mockRestore();
});

describe("the design note's logOpenAICall on our migrated schema", () => {
  it('plain SQL: the five-column INSERT succeeds and every other column gets a sensible default', async () => {
    const endpoint = `note.sql.${tag()}`;
    const model = `note-model-${tag()}`;
    const before = new Date();
    await logOpenAICallSql({ endpoint, model, tokensPrompt: 120, tokensCompletion: 30, costUsd: 0.0042 });
    await logOpenAICallSql({ endpoint, model, tokensPrompt: 80, tokensCompletion: 20, costUsd: 0.0011 });
    await logOpenAICallSql({ endpoint, model });
    const after = new Date();

    expect(loggedErrors()).toEqual([]);
    const rows = await rowsOf(endpoint);
    expect(rows.map((r) => [r.model, r.tokens_prompt, r.tokens_completion, r.cost_usd])).toEqual([
      [model, 120, 30, 0.0042],
      [model, 80, 20, 0.0011],
      [model, null, null, null],
    ]);
    expectExternalDefaults(rows, before, after);
  });

  it("drizzle-orm: db.insert(openaiCallLog).values(...) with only the note's columns mapped", async () => {
    const endpoint = `note.drizzle.${tag()}`;
    const model = `note-model-${tag()}`;
    const before = new Date();
    await logOpenAICall({ endpoint, model, tokensPrompt: 500, tokensCompletion: 100, costUsd: 0.0125 });
    await logOpenAICall({ endpoint, model, tokensPrompt: 7 });
    const after = new Date();

    expect(loggedErrors()).toEqual([]);
    const rows = await rowsOf(endpoint);
    expect(rows.map((r) => [r.model, r.tokens_prompt, r.tokens_completion, r.cost_usd])).toEqual([
      [model, 500, 100, 0.0125],
      [model, 7, null, null],
    ]);
    expectExternalDefaults(rows, before, after);

    // The app reads its rows back through the same mapping.
    const mine = await db.select().from(openaiCallLog).where(eq(openaiCallLog.endpoint, endpoint));
    expect(mine).toHaveLength(2);
    expect(mine.find((r) => r.tokensPrompt === 500)).toMatchObject({ model, tokensCompletion: 100, costUsd: 0.0125 });
    expect(mine.every((r) => r.createdAt instanceof Date && UUID.test(r.id))).toBe(true);
  });

  describe('panel queries count the rows like the proxy', () => {
    // One endpoint with two models: model A has two external rows and two proxy rows (a miss and a
    // hit), model B only an external row. Hit ratio over the proxy's calls: 1 hit / 2 = 0.5; counting
    // the external rows as misses would give 1/5 (1/4 within model A), as hits 4/5 (3/4).
    const endpoint = `note.panels.${tag()}`;
    const modelA = `note-model-a-${tag()}`;
    const modelB = `note-model-b-${tag()}`;
    const proxyTenant = `t_note${tag()}`;
    const EXTERNAL = { a1: 0.003, a2: 0.002, b: 0.0005 };
    const MISS_COST = 0.01;
    const totalCost = EXTERNAL.a1 + EXTERNAL.a2 + EXTERNAL.b + MISS_COST;
    let range: { from: Date; to: Date };

    const ALL_VALUE = "'__all'";
    const allOf: Variable = { value: [], multi: true, includeAll: true, all: true, allValue: ALL_VALUE };
    const only = (values: string[]): Variable => ({ value: values, multi: true, includeAll: true });
    const vars = (over: Record<string, Variable> = {}): Record<string, Variable> => ({
      endpoint: only([endpoint]),
      model: allOf,
      tenant: allOf,
      ...over,
    });
    async function run(name: string, variables: Record<string, Variable> = vars()): Promise<Row[]> {
      return (await pool.query(expandQuery(readQuery(name), { range, variables }))).rows as Row[];
    }
    const sum = (xs: unknown[]): number => xs.reduce<number>((a, b) => a + Number(b), 0);

    function proxyRow(over: Partial<CallLogRow>): CallLogRow {
      return {
        endpoint,
        model: modelA,
        tokensPrompt: 1000,
        tokensCompletion: 200,
        costUsd: 0,
        createdAt: new Date(),
        requestId: `req-${tag()}`,
        upstreamRequestId: null,
        tenant: proxyTenant,
        method: 'POST',
        path: '/v1/chat/completions',
        statusCode: 200,
        stream: false,
        cacheStatus: 'miss',
        tokensCached: null,
        tokensReasoning: null,
        costSavedUsd: 0,
        latencyMs: 300,
        ttfbMs: 100,
        upstreamMs: 250,
        usageSource: 'reported',
        clientAborted: false,
        errorType: null,
        ...over,
      };
    }

    beforeAll(async () => {
      const from = new Date(Date.now() - 60_000);
      const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        await logOpenAICall({ endpoint, model: modelA, tokensPrompt: 300, tokensCompletion: 60, costUsd: EXTERNAL.a1 });
        await logOpenAICallSql({ endpoint, model: modelA, tokensPrompt: 200, tokensCompletion: 40, costUsd: EXTERNAL.a2 });
        await logOpenAICall({ endpoint, model: modelB, tokensPrompt: 50, tokensCompletion: 10, costUsd: EXTERNAL.b });
        expect(errors.mock.calls).toEqual([]);
      } finally {
        errors.mockRestore();
      }
      // The proxy's own rows, through its own writer: it names every column, so no default applies.
      const writer = new CallLogWriter(pool, { batchSize: 10, flushMs: 5, maxQueue: 100 });
      writer.write(proxyRow({ cacheStatus: 'miss', costUsd: MISS_COST, costSavedUsd: 0 }));
      writer.write(proxyRow({ cacheStatus: 'hit', costUsd: 0, costSavedUsd: MISS_COST, tokensCached: 1000 }));
      await writer.close();
      expect(writer.pending).toBe(0);
      range = { from, to: new Date(Date.now() + 60_000) };
    });

    it('the proxy writer still sets its own tenant, status and cache status', async () => {
      const rows = await rowsOf(endpoint);
      expect(rows.map((r) => [r.tenant, r.cache_status]).sort()).toEqual([
        ['external', 'external'],
        ['external', 'external'],
        ['external', 'external'],
        [proxyTenant, 'hit'],
        [proxyTenant, 'miss'],
      ]);
    });

    it('cost panels: the note panel 1, the costs page and the stat row include them', async () => {
      const panel1 = (await run('panel1_daily_cost_by_endpoint')).filter((r) => r.endpoint === endpoint);
      expect(panel1.length).toBeGreaterThanOrEqual(1); // one UTC day, two across midnight
      expect(sum(panel1.map((r) => r.value))).toBeCloseTo(totalCost, 10);

      const daily = await run('costs_daily_by_endpoint');
      expect(new Set(daily.map((r) => r.metric))).toEqual(new Set([endpoint]));
      expect(sum(daily.map((r) => r.cost_usd))).toBeCloseTo(totalCost, 10);

      const [byEndpoint, ...rest] = await run('costs_by_endpoint');
      expect(rest).toEqual([]);
      expect(byEndpoint).toMatchObject({ endpoint, calls: 5 });
      expect(Number(byEndpoint?.cost_usd)).toBeCloseTo(totalCost, 10);
      expect(Number(byEndpoint?.tokens)).toBe(300 + 60 + 200 + 40 + 50 + 10 + 2 * (1000 + 200));

      const [cost] = await run('stat_total_cost');
      expect(Number(cost?.total_cost_usd)).toBeCloseTo(totalCost, 10);
      const [calls] = await run('stat_calls');
      expect(Number(calls?.calls)).toBe(5);
      // The tenant variable tells them apart.
      const [external] = await run('stat_calls', vars({ tenant: only(['external']) }));
      expect(Number(external?.calls)).toBe(3);
      const [proxied] = await run('stat_calls', vars({ tenant: only([proxyTenant]) }));
      expect(Number(proxied?.calls)).toBe(2);

      const note30d = (await run('note_cost_by_endpoint_daily_30d')).filter((r) => r.endpoint === endpoint);
      expect(sum(note30d.map((r) => r.total_cost_usd))).toBeCloseTo(totalCost, 10);
    });

    it('model panels: the note panel 4 and the drill-down include them', async () => {
      const panel4 = await run('panel4_model_cost_breakdown');
      const byModel = new Map(panel4.map((r) => [r.model, Number(r.total_cost_usd)]));
      expect(byModel.get(modelA)).toBeCloseTo(EXTERNAL.a1 + EXTERNAL.a2 + MISS_COST, 10);
      expect(byModel.get(modelB)).toBeCloseTo(EXTERNAL.b, 10);

      const models = await run('costs_models_in_endpoint', vars({ drill_endpoint: { value: endpoint } }));
      expect(models.map((r) => [r.model, Number(r.calls)])).toEqual([
        [modelA, 4],
        [modelB, 1],
      ]);
      expect(Number(models[0]?.cost_usd)).toBeCloseTo(EXTERNAL.a1 + EXTERNAL.a2 + MISS_COST, 10);
      expect(Number(models[1]?.cost_usd)).toBeCloseTo(EXTERNAL.b, 10);

      const list = await run('costs_calls', vars({ drill_endpoint: { value: endpoint }, drill_model: { value: modelA } }));
      expect(list.map((r) => r.cache_status).sort()).toEqual(['external', 'external', 'hit', 'miss']);
      const ext = list.find((r) => r.cache_status === 'external');
      const [detail] = await run('call_detail', { call_id: { value: String(ext?.call_id) } });
      expect(detail).toMatchObject({ endpoint, model: modelA, tenant: 'external', status_code: 200, cache_status: 'external' });
    });

    it('the variables offer their endpoint, models and tenant', async () => {
      const values = async (name: string) => (await run(name)).map((r) => r.__value);
      expect(await values('var_endpoint')).toContain(endpoint);
      expect(await values('var_model')).toEqual(expect.arrayContaining([modelA, modelB]));
      expect(await values('var_tenant')).toEqual(expect.arrayContaining(['external', proxyTenant]));
    });

    it('hit ratios count them neither as hits nor as misses', async () => {
      const [stat] = await run('stat_hit_ratio');
      expect(Number(stat?.hit_ratio)).toBeCloseTo(1 / 2, 12);

      // Per UTC day, computed here from the rows themselves (a run across midnight has two days).
      const expected = new Map<number, { hits: number; proxied: number }>();
      for (const r of await rowsOf(endpoint)) {
        if (r.cache_status === 'external') continue;
        const day = Math.floor((r.created_at as Date).getTime() / 86_400_000) * 86_400;
        const e = expected.get(day) ?? { hits: 0, proxied: 0 };
        e.proxied += 1;
        if (r.cache_status === 'hit') e.hits += 1;
        expected.set(day, e);
      }
      const perDay = await run('hit_ratio');
      expect(perDay.map((r) => [Number(r.time), Number(r.hit_ratio)])).toEqual(
        [...expected.entries()].sort(([a], [b]) => a - b).map(([day, e]) => [day, e.hits / e.proxied]),
      );

      const models = await run('costs_models_in_endpoint', vars({ drill_endpoint: { value: endpoint } }));
      expect(models.map((r) => [r.model, r.hit_ratio === null ? null : Number(r.hit_ratio)])).toEqual([
        [modelA, 0.5],
        [modelB, null], // only external rows: no ratio, rather than 0 or a division by zero
      ]);

      // Only external rows in the selection: no calls to take a ratio of.
      const [none] = await run('stat_hit_ratio', vars({ model: only([modelB]) }));
      expect(Number(none?.hit_ratio)).toBe(0);
      expect(await run('hit_ratio', vars({ model: only([modelB]) }))).toEqual([]);
    });

    it('savings and idempotency panels leave them out', async () => {
      const [saved] = await run('stat_cost_saved');
      expect(Number(saved?.saved_by_cache_usd)).toBeCloseTo(MISS_COST, 10);
      expect(Number(saved?.saved_by_idempotency_usd)).toBe(0);
      const savedDaily = await run('cost_saved_daily');
      expect(new Set(savedDaily.map((r) => r.metric))).toEqual(new Set(['hit']));
      expect(await run('idem_replays_by_endpoint')).toEqual([]);
      expect(await run('idem_replays_daily')).toEqual([]);
    });

    it('every sql/queries file still runs with external rows in the log', async () => {
      const variables = {
        ...vars(),
        drill_endpoint: { value: endpoint },
        drill_model: { value: modelB },
        call_id: { value: '00000000-0000-4000-8000-000000000000' },
        // The Tenants page's drill-down and attribution filters (issue 11).
        drill_tenant: { value: 'external' },
        app_user: allOf,
        tag: allOf,
      };
      for (const name of queryNames()) {
        await expect(run(name, variables)).resolves.toBeInstanceOf(Array);
      }
    });
  });
});
