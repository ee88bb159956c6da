import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import type { Pool } from '../../proxy/src/db/pool.js';
import { CallLogWriter, type CallLogRow } from '../../proxy/src/log/callLog.js';
import { Spool } from '../../proxy/src/log/spool.js';
import { createMetrics } from '../../proxy/src/metrics.js';
import { startStack, type Stack } from '../support/stack.js';
import { testPool } from '../support/db.js';

/**
 * The database away, in-process (so it runs on the embedded Postgres too): the proxy's pool fails
 * every query the way an unreachable server does, then works again. Optimisations degrade (the
 * call is served uncached and its row says so), an Idempotency-Key follows IDEMPOTENCY_WHEN_DB_DOWN,
 * readiness stays 200, and every row arrives once the database is back.
 */
function switchable(pool: Pool): { pool: Pool; down(on: boolean): void } {
  let isDown = false;
  const refuse = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
  const wrapped = new Proxy(pool, {
    get(target, key) {
      if (isDown && (key === 'query' || key === 'connect')) return refuse;
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { pool: wrapped, down: (on) => void (isDown = on) };
}

async function post(stack: Stack, path: string, body: unknown, headers: Record<string, string> = {}) {
  const base = stack.proxyUrl.replace(/\/v1$/, '');
  const res = await request(base + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-degrade', ...headers }, body: JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

const chat = (content: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

describe('the database away: degrade, never fail', () => {
  let stack: Stack;
  let db: ReturnType<typeof switchable>;
  beforeAll(async () => {
    stack = await startStack({}, {}, (p) => (db = switchable(p)).pool);
  });
  afterAll(async () => {
    db.down(false);
    await stack.close();
  });

  async function rowOf(requestId: string) {
    await stack.deps.callLog.flush();
    const { rows } = await stack.pool.query('SELECT status_code, cache_status, error_type FROM openai_call_log WHERE request_id = $1', [requestId]);
    return rows;
  }

  it('serves cache-enabled, persona and plain calls uncached (rows say cache_unavailable), refuses a key with 503 + Retry-After, stays ready', async () => {
    db.down(true);
    const cached = await post(stack, '/v1/chat/completions', chat('degrade cached'), { 'x-tollgate-cache': 'on' });
    const persona = await post(stack, '/api/personas/generate', { email: 'a@example.com', leadData: { degrade: 1 }, config: { numPersonas: 1 } });
    const plain = await post(stack, '/v1/chat/completions', chat('degrade plain'));
    const keyed = await post(stack, '/v1/chat/completions', chat('degrade keyed'), { 'idempotency-key': `k-${randomUUID()}` });
    const ready = await request(stack.proxyUrl.replace(/\/v1$/, '/readyz'));
    const readyBody = (await ready.body.json()) as { status: string; database: string; callLogPending: number };
    const metrics = await (await request(stack.proxyUrl.replace(/\/v1$/, '/metrics'))).body.text();

    expect([cached.status, cached.headers['x-tollgate-cache']]).toEqual([200, 'BYPASS']);
    expect([persona.status, persona.json().fromCache, persona.headers['x-tollgate-cache']]).toEqual([200, false, 'BYPASS']);
    expect(plain.status).toBe(200);
    expect([keyed.status, keyed.headers['retry-after'], (keyed.json().error as { code: string }).code]).toEqual([503, '5', 'idempotency_unavailable']);
    expect(keyed.json().error).toEqual({ message: expect.any(String), type: 'idempotency_error', param: 'Idempotency-Key', code: 'idempotency_unavailable' });
    expect([ready.statusCode, readyBody.status, readyBody.database]).toEqual([200, 'ready', expect.stringMatching(/^unavailable/)]);
    expect(metrics).toMatch(/^tollgate_database_up 0$/m);

    // The writer could not write either: the rows wait (memory and spool), then all arrive.
    await stack.deps.callLog.flush();
    expect(stack.deps.callLog.pending).toBeGreaterThanOrEqual(4);
    db.down(false);
    expect(await rowOf(cached.headers['x-tollgate-request-id'] as string)).toEqual([{ status_code: 200, cache_status: 'bypass', error_type: 'cache_unavailable' }]);
    expect(await rowOf(persona.headers['x-tollgate-request-id'] as string)).toEqual([{ status_code: 200, cache_status: 'bypass', error_type: 'cache_unavailable' }]);
    expect(await rowOf(plain.headers['x-tollgate-request-id'] as string)).toEqual([{ status_code: 200, cache_status: 'bypass', error_type: null }]);
    expect(await rowOf(keyed.headers['x-tollgate-request-id'] as string)).toEqual([{ status_code: 503, cache_status: 'bypass', error_type: 'idempotency_unavailable' }]);
    expect(stack.deps.callLog.pending).toBe(0);
    const after = await (await request(stack.proxyUrl.replace(/\/v1$/, '/metrics'))).body.text();
    expect(after).toMatch(/^tollgate_database_up 1$/m);
  });

  it('with the cache back, the same cache-enabled request is stored and then hit', async () => {
    const body = chat(`degrade back ${randomUUID()}`);
    const first = await post(stack, '/v1/chat/completions', body, { 'x-tollgate-cache': 'on' });
    const second = await post(stack, '/v1/chat/completions', body, { 'x-tollgate-cache': 'on' });
    expect([first.headers['x-tollgate-cache'], second.headers['x-tollgate-cache']]).toEqual(['MISS', 'HIT']);
  });
});

describe('IDEMPOTENCY_WHEN_DB_DOWN=serve', () => {
  let stack: Stack;
  let db: ReturnType<typeof switchable>;
  beforeAll(async () => {
    stack = await startStack({ IDEMPOTENCY_WHEN_DB_DOWN: 'serve' }, {}, (p) => (db = switchable(p)).pool);
  });
  afterAll(async () => {
    db.down(false);
    await stack.close();
  });

  it('runs a keyed request without the guarantee; its row says idempotency_unavailable', async () => {
    db.down(true);
    const keyed = await post(stack, '/v1/chat/completions', chat('serve keyed'), { 'idempotency-key': `k-${randomUUID()}` });
    expect(keyed.status).toBe(200);
    expect(keyed.headers['idempotent-replayed']).toBeUndefined();
    db.down(false);
    await stack.deps.callLog.flush();
    const { rows } = await stack.pool.query('SELECT status_code, error_type FROM openai_call_log WHERE request_id = $1', [keyed.headers['x-tollgate-request-id']]);
    expect(rows).toEqual([{ status_code: 200, error_type: 'idempotency_unavailable' }]);
  });
});

describe('the spool', () => {
  let pool: Pool;
  let root: string;
  beforeAll(async () => {
    pool = await testPool(2);
    root = mkdtempSync(join(tmpdir(), 'tollgate-spool-test-'));
  });
  afterAll(async () => {
    await pool.end();
    rmSync(root, { recursive: true, force: true });
  });

  // A spooled line carries its row's created_at: a replay is the same row (the same unique key,
  // whether request_id alone or with created_at on a partitioned table).
  const AT = new Date();
  const row = (requestId: string): CallLogRow => ({
    endpoint: 'chat.completions', model: 'gpt-4o-mini', tokensPrompt: 1, tokensCompletion: 1, costUsd: 0.000001, createdAt: AT, requestId,
    upstreamRequestId: null, tenant: 't_spooltest', method: 'POST', path: '/v1/chat/completions', statusCode: 200, stream: false, cacheStatus: 'bypass',
    tokensCached: 0, tokensReasoning: 0, costSavedUsd: 0, latencyMs: 1, ttfbMs: 1, upstreamMs: 1, usageSource: 'reported', clientAborted: false, errorType: null,
  });
  const count = async (ids: string[]) => Number((await pool.query('SELECT count(*) AS n FROM openai_call_log WHERE request_id = ANY($1)', [ids])).rows[0].n);
  /** A row as the writer spools it (json_populate_recordset's shape: column names). */
  const line = (id: string) => JSON.stringify({ endpoint: 'chat.completions', model: 'gpt-4o-mini', created_at: AT, request_id: id, tenant: 't_spooltest', method: 'POST', path: '/x', status_code: 200, stream: false, cache_status: 'bypass', cost_saved_usd: 0, usage_source: 'none', client_aborted: false });

  it("replays what a crashed process left, once: rows already written are not doubled, a torn last line is set aside and reported, and the folder goes", async () => {
    const sub = join(root, 'replay');
    const written = [randomUUID(), randomUUID()];
    const lost = [randomUUID(), randomUUID(), randomUUID()];
    // Rows that reached the database before the crash...
    const first = new CallLogWriter(pool, { batchSize: 10, flushMs: 10, maxQueue: 100 });
    for (const id of written) first.write(row(id));
    await first.close();
    // ...and the crashed process's folder: no owner file, every row of it on disk, the last one torn.
    const orphan = join(sub, 'otherhost-1-dead');
    mkdirSync(orphan, { recursive: true });
    const tornLine = line(randomUUID()).slice(0, 40);
    writeFileSync(join(orphan, 'seg-00000001.ndjson'), [...written, ...lost].map(line).join('\n') + '\n' + tornLine);
    const metrics = createMetrics();
    const torn: Array<[number, string]> = [];
    const spool = new Spool({ root: sub, maxBytes: 10 * 1024 * 1024, fsyncMs: 1000 }, { torn: (n, file) => torn.push([n, file]) });
    const writer = new CallLogWriter(pool, { batchSize: 2, flushMs: 10, maxQueue: 100 }, undefined, metrics, spool);
    await writer.flush();
    expect(await count([...written, ...lost])).toBe(5);
    expect(await count(written)).toBe(2);
    await writer.close();
    expect(torn).toEqual([[1, join(sub, 'rejected.ndjson')]]);
    expect(readFileSync(join(sub, 'rejected.ndjson'), 'utf8')).toBe(tornLine + '\n');
    expect(readdirSync(sub)).toEqual(['rejected.ndjson']);
  });

  it('a spool at its smallest size (1 MiB) under steady traffic rotates and deletes what is written: nothing refused', async () => {
    const sub = join(root, 'small');
    const metrics = createMetrics();
    let writer: CallLogWriter | undefined;
    const spool = new Spool({ root: sub, maxBytes: 1024 * 1024, fsyncMs: 1000 }, { refused: (n, why) => writer?.spoolRefused(n, why) });
    writer = new CallLogWriter(pool, { batchSize: 200, flushMs: 5, maxQueue: 10_000 }, undefined, metrics, spool);
    const ids = Array.from({ length: 4000 }, () => randomUUID());
    // About 2.3 MB of rows in all, twice the spool's size, written as traffic would: a batch at a time.
    for (let i = 0; i < ids.length; i += 200) {
      for (const id of ids.slice(i, i + 200)) writer.write(row(id));
      await new Promise((r) => setImmediate(r));
      await writer.flush();
    }
    const refused = Number((await metrics.registry.getSingleMetricAsString('tollgate_call_log_spool_refused_total')).match(/ (\d+)$/m)?.[1]);
    expect(refused).toBe(0);
    expect(await count(ids)).toBe(4000);
    // What the spool says it holds is what is on disk, and well under its limit.
    await new Promise((r) => setTimeout(r, 50));
    const onDisk = readdirSync(spool.dir).filter((f) => f.endsWith('.ndjson')).reduce((n, f) => n + statSync(join(spool.dir, f)).size, 0);
    expect(spool.sizeBytes).toBe(onDisk);
    expect(onDisk).toBeLessThan(512 * 1024);
    await writer.close();
  });

  it('a row the database refuses for its data is set aside (rejected.ndjson, counted); the rows around it are written', async () => {
    const sub = join(root, 'bad-row');
    const good = [randomUUID(), randomUUID(), randomUUID()];
    const orphan = join(sub, 'otherhost-1-dead');
    mkdirSync(orphan, { recursive: true });
    const bad = JSON.stringify({ ...JSON.parse(line(randomUUID())), cache_status: 'bogus' });
    writeFileSync(join(orphan, 'seg-00000001.ndjson'), [line(good[0]!), bad, line(good[1]!), line(good[2]!)].join('\n') + '\n');
    const metrics = createMetrics();
    const spool = new Spool({ root: sub, maxBytes: 10 * 1024 * 1024, fsyncMs: 1000 });
    const writer = new CallLogWriter(pool, { batchSize: 10, flushMs: 10, maxQueue: 100 }, undefined, metrics, spool);
    await writer.flush();
    expect(await count(good)).toBe(3);
    expect(writer.pending).toBe(0);
    expect(readFileSync(join(sub, 'rejected.ndjson'), 'utf8')).toBe(bad + '\n');
    expect(await metrics.registry.getSingleMetricAsString('tollgate_call_log_rejected_total')).toMatch(/ 1$/m);
    await writer.close();
    // Nothing left to replay: the next start writes nothing twice and sets nothing aside again.
    expect(readdirSync(sub)).toEqual(['rejected.ndjson']);
  });

  it("a crashed replica's folder adopted while running is replayed at once, without waiting for traffic", async () => {
    const sub = join(root, 'adopt-later');
    let writer: CallLogWriter | undefined;
    const spool = new Spool({ root: sub, maxBytes: 10 * 1024 * 1024, fsyncMs: 1000 }, { adopted: () => writer?.adopted() });
    writer = new CallLogWriter(pool, { batchSize: 10, flushMs: 60_000, maxQueue: 100 }, undefined, createMetrics(), spool);
    const lost = [randomUUID(), randomUUID()];
    const orphan = join(sub, 'otherhost-2-dead');
    mkdirSync(orphan, { recursive: true });
    writeFileSync(join(orphan, 'seg-00000001.ndjson'), lost.map(line).join('\n') + '\n');
    // The minutely scan, run now; then no write, no flush from this test.
    spool.adoptOrphans();
    const until = Date.now() + 5000;
    while ((await count(lost)) < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await count(lost)).toBe(2);
    await writer.close();
  });

  it("a folder whose owner was killed but not yet reaped (a zombie) is adopted at start, not a minute later", async () => {
    const sub = join(root, 'zombie');
    // `sleep 0` ends at once, but its parent execs into `sleep 5` and never reaps it: a zombie for 5 s.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number((await new Promise<Buffer>((r) => parent.stdout!.once('data', r))).toString().trim());
      const stat = () => readFileSync(`/proc/${pid}/stat`, 'utf8');
      const until = Date.now() + 2000;
      while (!/\) Z /.test(stat()) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(stat()).toMatch(/\) Z /);
      const lost = [randomUUID(), randomUUID()];
      const orphan = join(sub, `${hostname()}-${pid}-zombie`);
      mkdirSync(orphan, { recursive: true });
      writeFileSync(join(orphan, 'owner'), JSON.stringify({ host: hostname(), pid }));
      writeFileSync(join(orphan, 'seg-00000001.ndjson'), lost.map(line).join('\n') + '\n');
      const spool = new Spool({ root: sub, maxBytes: 10 * 1024 * 1024, fsyncMs: 1000 });
      const writer = new CallLogWriter(pool, { batchSize: 10, flushMs: 60_000, maxQueue: 100 }, undefined, createMetrics(), spool);
      await writer.flush();
      expect(await count(lost)).toBe(2);
      await writer.close();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('keeps rows past LOG_MAX_QUEUE on disk and writes them from there; refuses past SPOOL_MAX_BYTES and counts it', async () => {
    const sub = join(root, 'overflow');
    const metrics = createMetrics();
    let refused = 0;
    let writer: CallLogWriter | undefined;
    const spool = new Spool({ root: sub, maxBytes: 40 * 1024, fsyncMs: 1000 }, { refused: (n, why) => writer?.spoolRefused(n, why) });
    // A pool that is away: everything waits.
    let away = true;
    const flaky = new Proxy(pool, {
      get: (t, k) => (away && k === 'query' ? () => Promise.reject(new Error('Connection terminated')) : (Reflect.get(t, k, t) as (...a: unknown[]) => unknown).bind?.(t) ?? Reflect.get(t, k, t)),
    });
    writer = new CallLogWriter(flaky, { batchSize: 50, flushMs: 5, maxQueue: 100 }, undefined, metrics, spool);
    const ids = Array.from({ length: 150 }, () => randomUUID());
    for (const id of ids) writer.write(row(id));
    await writer.flush();
    expect(writer.pending).toBe(150);
    // 100 in memory, 50 on disk only; the spool (40 KiB) then fills up.
    const more = Array.from({ length: 200 }, () => randomUUID());
    for (const id of more) writer.write(row(id));
    refused = (await metrics.registry.getSingleMetricAsString('tollgate_call_log_spool_refused_total')).match(/ (\d+)$/m)?.[1] as unknown as number;
    expect(Number(refused)).toBeGreaterThan(0);
    away = false;
    await writer.flush();
    await writer.flush();
    // Every row the spool took is written; refused rows past the memory queue were dropped and counted.
    expect(await count(ids)).toBe(150);
    const dropped = Number((await metrics.registry.getSingleMetricAsString('tollgate_call_log_dropped_total')).match(/ (\d+)$/m)?.[1]);
    expect((await count(more)) + dropped).toBe(200);
    await writer.close();
  });
});
