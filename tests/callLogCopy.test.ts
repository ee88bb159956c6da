import { randomUUID } from 'node:crypto';
import type { Pool } from '../proxy/src/db/pool.js';
import { CallLogWriter, type CallLogRow } from '../proxy/src/log/callLog.js';
import { testPool } from './support/db.js';

/**
 * Fresh call-log rows go in with COPY on a real server (the JSON insert stays for spool replays and
 * for the embedded PGlite, whose socket does not speak COPY). Both must store the very same row.
 */
let pool: Pool;
let embedded: boolean;
beforeAll(async () => {
  pool = await testPool();
  embedded = /emscripten/i.test((await pool.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v);
});
afterAll(() => pool.end());

const createdAt = new Date('2026-12-02T10:11:12.345Z');
const base = (requestId: string, over: Partial<CallLogRow> = {}): CallLogRow => ({
  endpoint: 'chat.completions', model: 'gpt-4o-mini', tokensPrompt: 12, tokensCompletion: 9, costUsd: 0.0000072,
  createdAt, requestId, upstreamRequestId: 'req_up', tenant: 't_copy', method: 'POST', path: '/v1/chat/completions',
  statusCode: 200, stream: false, cacheStatus: 'miss', tokensCached: 0, tokensReasoning: 0, costSavedUsd: 0,
  latencyMs: 5, ttfbMs: null, upstreamMs: 4, usageSource: 'reported', clientAborted: false, errorType: null,
  appUser: null, tags: null, ...over,
});

// What COPY's text format would get wrong unescaped: tabs, newlines, backslashes, quotes and
// braces inside array elements, `\N` as text, non-ASCII; and the numbers and nulls of each column.
const variants: Array<Partial<CallLogRow>> = [
  {},
  { model: 'ft:gpt-4o-mini:org\\name:\tx\n', path: '/v1/chat/completions\r', errorType: '\\N' },
  { appUser: 'älice "quoted" \\ back', tags: ['team:a', 'with,comma', 'with "quote"', 'back\\slash', '{brace}', 'tab\there', 'NULL', ''] },
  { tags: [], appUser: '' },
  { costUsd: null, tokensPrompt: null, tokensCompletion: null, latencyMs: null, upstreamMs: null, upstreamRequestId: null, usageSource: 'none' },
  { costUsd: 1.2345678901, costSavedUsd: 0.5, cacheStatus: 'hit', stream: true, clientAborted: true, statusCode: 499, ttfbMs: 3 },
  { costUsd: 7.2e-7, model: 'emoji 🚀 model' },
  // Lone UTF-16 surrogates (a body's "user":"a\ud800b"): JSON.stringify escapes them and Postgres's
  // json refuses the escape; both paths must store U+FFFD instead.
  { appUser: 'a\ud800b', tags: ['x\udc00y', 'ok'], model: 'm\ud83d' },
];

const COMPARED = `endpoint, model, tokens_prompt, tokens_completion, cost_usd::text, created_at, upstream_request_id, tenant, method,
  path, status_code, stream, cache_status, tokens_cached, tokens_reasoning, cost_saved_usd::text, latency_ms, ttfb_ms,
  upstream_ms, usage_source, client_aborted, error_type, app_user, tags`;

async function rowsOf(ids: string[]): Promise<unknown[]> {
  const { rows } = await pool.query(`SELECT ${COMPARED} FROM openai_call_log WHERE request_id = ANY($1) ORDER BY array_position($1, request_id)`, [ids]);
  return rows;
}

describe('call-log COPY', () => {
  it('stores every row exactly as the JSON insert does', async () => {
    const copied = variants.map(() => `copy-${randomUUID()}`);
    const inserted = variants.map(() => `json-${randomUUID()}`);
    const viaCopy = new CallLogWriter(pool, { batchSize: 100, flushMs: 5, maxQueue: 100, copy: true });
    const viaJson = new CallLogWriter(pool, { batchSize: 100, flushMs: 5, maxQueue: 100 });
    variants.forEach((v, i) => viaCopy.write(base(copied[i]!, v)));
    variants.forEach((v, i) => viaJson.write(base(inserted[i]!, v)));
    await viaCopy.close();
    await viaJson.close();
    // On a real server the fresh rows went in with COPY; PGlite's socket does not speak it.
    expect(viaCopy.copying).toBe(!embedded);
    expect(viaJson.copying).toBe(false);
    // One statement took them all: none fell back to the row-by-row path a refused batch takes.
    const { rows: tx } = await pool.query('SELECT count(DISTINCT xmin::text)::int AS n FROM openai_call_log WHERE request_id = ANY($1)', [copied]);
    expect(tx).toEqual([{ n: 1 }]);
    const a = await rowsOf(copied);
    expect(a).toHaveLength(variants.length);
    expect(a).toEqual(await rowsOf(inserted));
    expect(a[2]).toMatchObject({ app_user: 'älice "quoted" \\ back', tags: variants[2]!.tags });
    expect(a[1]).toMatchObject({ model: 'ft:gpt-4o-mini:org\\name:\tx\n', error_type: '\\N' });
    expect(a[7]).toMatchObject({ app_user: 'a\ufffdb', tags: ['x\ufffdy', 'ok'], model: 'm\ufffd' });
  });

  it('a batch already partly in the table (its commit reply lost) goes in again without doubling a row', async () => {
    const first = `dup-${randomUUID()}`;
    const rest = [`dup-${randomUUID()}`, `dup-${randomUUID()}`];
    const earlier = new CallLogWriter(pool, { batchSize: 100, flushMs: 5, maxQueue: 100, copy: true });
    earlier.write(base(first));
    await earlier.close();
    const writer = new CallLogWriter(pool, { batchSize: 100, flushMs: 5, maxQueue: 100, copy: true });
    for (const id of [first, ...rest]) writer.write(base(id));
    await writer.close();
    expect(writer.pending).toBe(0);
    const { rows } = await pool.query('SELECT request_id, count(*)::int AS n FROM openai_call_log WHERE request_id = ANY($1) GROUP BY 1 ORDER BY 1', [[first, ...rest]]);
    expect(rows).toEqual([first, ...rest].sort().map((request_id) => ({ request_id, n: 1 })));
    // Again as one statement (ON CONFLICT skips the row that is in), not row by row.
    const { rows: tx } = await pool.query('SELECT count(DISTINCT xmin::text)::int AS n FROM openai_call_log WHERE request_id = ANY($1)', [rest]);
    expect(tx).toEqual([{ n: 1 }]);
  });

  it('a row the database refuses for its data is set aside; the rest of its COPY batch goes in', async () => {
    const good = [`ok-${randomUUID()}`, `ok-${randomUUID()}`];
    const writer = new CallLogWriter(pool, { batchSize: 100, flushMs: 5, maxQueue: 100, copy: true });
    writer.write(base(good[0]!));
    // A NUL character: no Postgres text value holds it, by COPY or by JSON.
    writer.write(base(`bad-${randomUUID()}`, { appUser: 'nul\u0000here' }));
    writer.write(base(good[1]!));
    await writer.close();
    expect(writer.pending).toBe(0);
    expect(await rowsOf(good)).toHaveLength(2);
  });
});
