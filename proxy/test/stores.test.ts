import { randomUUID } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { testPool } from '../../tests/support/db.js';
import { idemRequest } from '../../tests/support/idemRequest.js';
import { cleanupExpired } from '../src/cache/cleanup.js';
import { entryAsStored, ResponseCache } from '../src/cache/store.js';
import { sendStored, type StoredResponse } from '../src/sse/stored.js';
import { CoalesceTimeoutError, SingleFlight } from '../src/coalesce/singleFlight.js';
import type { Pool } from '../src/db/pool.js';
import { ProxyError } from '../src/call/errors.js';
import { dedupRequestHash, parseIdempotencyKey, requestFingerprint } from '../src/idempotency/keys.js';
import { IdempotencyStore } from '../src/idempotency/store.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let pool: Pool;
beforeAll(async () => {
  pool = await testPool(8);
});
afterAll(() => pool.end());

const ok = { status: 200, headers: { 'x-request-id': 'req_1' }, contentType: 'application/json', bodyJson: { answer: 42 } };

describe('IdempotencyStore', () => {
  it('owner, then in_progress, then replay of the stored response; mismatch for another fingerprint', async () => {
    const store = new IdempotencyStore(pool);
    const req = idemRequest();
    const first = await store.begin(req);
    expect(first.kind).toBe('owner');
    expect((await store.begin(req)).kind).toBe('in_progress');
    expect((await store.begin({ ...req, fingerprint: 'other' })).kind).toBe('mismatch');
    if (first.kind !== 'owner') throw new Error('unreachable');
    expect(await store.complete(first.lease, ok, 0.0012)).toBe(true);
    const replay = await store.begin(req);
    expect(replay).toMatchObject({ kind: 'replay', stored: ok, costUsd: 0.0012 });
    expect((await store.begin({ ...req, fingerprint: 'other' })).kind).toBe('mismatch');
    const { rows } = await pool.query('SELECT replay_count, last_replayed_at FROM request_log WHERE tenant = $1', [req.tenant]);
    expect(rows[0].replay_count).toBe(1);
    expect(rows[0].last_replayed_at).not.toBeNull();
  });

  it('stores and replays a recorded event stream', async () => {
    const store = new IdempotencyStore(pool);
    const req = idemRequest();
    const owner = await store.begin(req);
    if (owner.kind !== 'owner') throw new Error('expected owner');
    const sse = { status: 200, headers: {}, contentType: 'text/event-stream; charset=utf-8', sseText: 'data: {"a":1}\n\ndata: [DONE]\n\n' };
    await store.complete(owner.lease, sse, null);
    expect(await store.begin(req)).toMatchObject({ kind: 'replay', stored: sse });
  });

  it('release and non-final failures leave nothing, so the retry owns the key again; a final 4xx is kept', async () => {
    const store = new IdempotencyStore(pool);
    const req = idemRequest();
    const a = await store.begin(req);
    if (a.kind !== 'owner') throw new Error('expected owner');
    await store.fail(a.lease, new ProxyError({ status: 502, message: 'upstream down' }), false);
    const b = await store.begin(req);
    expect(b.kind).toBe('owner');
    if (b.kind !== 'owner') throw new Error('expected owner');
    await store.fail(b.lease, new ProxyError({ status: 429, message: 'slow down', type: 'rate_limit_error' }), true);
    const c = await store.begin(req);
    if (c.kind !== 'owner') throw new Error('expected owner');
    await store.fail(c.lease, new ProxyError({ status: 400, message: 'bad model' }), true);
    expect(await store.begin(req)).toMatchObject({ kind: 'replay', stored: { status: 400, bodyJson: { error: { message: 'bad model' } } } });
  });

  it('acquire waits for the running owner and then replays; times out as in_progress', async () => {
    const store = new IdempotencyStore(pool);
    const req = idemRequest();
    const owner = await store.begin(req);
    if (owner.kind !== 'owner') throw new Error('expected owner');
    expect(await store.acquire(req, 50)).toMatchObject({ kind: 'in_progress', waited: true });
    const waiting = store.acquire(req, 5000);
    await sleep(100);
    await store.complete(owner.lease, ok, null);
    expect(await waiting).toMatchObject({ kind: 'replay', waited: true, stored: ok });
  });

  it('a failed attempt is the answer of the callers of this process waiting on it, not of later ones', async () => {
    const store = new IdempotencyStore(pool);
    const req = idemRequest();
    const owner = await store.begin(req);
    if (owner.kind !== 'owner') throw new Error('expected owner');
    const waiters = [store.acquire(req, 5000), store.acquire(req, 5000)];
    await sleep(100);
    const limited = { status: 429, headers: { 'retry-after': '3' }, contentType: 'application/json', bodyJson: { error: {} }, bodyText: '{"error":{}}' };
    await store.release(owner.lease, limited);
    for (const w of await Promise.all(waiters)) expect(w).toMatchObject({ kind: 'failed', waited: true, stored: limited });
    // A retry after the failure runs again.
    expect(await store.acquire(req, 5000)).toMatchObject({ kind: 'owner', waited: false });
  });

  it('a crashed owner (lease ran out) is taken over, and the old owner can no longer complete', async () => {
    const store = new IdempotencyStore(pool, { leaseMs: 200 });
    const other = new IdempotencyStore(pool, { leaseMs: 200 });
    const req = idemRequest();
    const owner = await store.begin(req);
    if (owner.kind !== 'owner') throw new Error('expected owner');
    store.close(); // the "crash": no more lease renewals
    expect((await other.begin(req)).kind).toBe('in_progress');
    await sleep(350);
    const taken = await other.begin(req);
    expect(taken.kind).toBe('owner');
    expect(await store.complete(owner.lease, { ...ok, bodyJson: { stale: true } }, null)).toBe(false);
    if (taken.kind !== 'owner') throw new Error('expected owner');
    await other.complete(taken.lease, ok, null);
    expect(await other.begin(req)).toMatchObject({ kind: 'replay', stored: ok });
    other.close();
  });

  it('a renewed lease is not taken over while its owner works', async () => {
    const store = new IdempotencyStore(pool, { leaseMs: 150 });
    const req = idemRequest();
    const owner = await store.begin(req);
    await sleep(400);
    expect((await store.begin(req)).kind).toBe('in_progress');
    if (owner.kind === 'owner') await store.release(owner.lease);
  });

  it('expired rows are replaced; key-less dedup records and finds completed rows', async () => {
    const store = new IdempotencyStore(pool);
    const req = idemRequest({ ttlSeconds: 1 });
    const a = await store.begin(req);
    if (a.kind !== 'owner') throw new Error('expected owner');
    await store.complete(a.lease, ok, null);
    await sleep(1100);
    expect((await store.begin(req)).kind).toBe('owner');

    const fp = requestFingerprint('POST', '/api/personas/generate', { x: 1 });
    const dedup = idemRequest({ requestHash: dedupRequestHash(fp), keyHash: null, fingerprint: fp, ttlSeconds: 1 });
    expect(await store.findCompleted(dedup.tenant, dedup.requestHash)).toBeUndefined();
    await store.record(dedup, ok, 0.5);
    expect(await store.findCompleted(dedup.tenant, dedup.requestHash)).toMatchObject({ kind: 'replay', costUsd: 0.5 });
    expect(await store.findCompleted('another-tenant', dedup.requestHash)).toBeUndefined();
    await sleep(1100);
    expect(await store.findCompleted(dedup.tenant, dedup.requestHash)).toBeUndefined();
    await store.record(dedup, { ...ok, bodyJson: { answer: 43 } }, 0.5);
    expect(await store.findCompleted(dedup.tenant, dedup.requestHash)).toMatchObject({ stored: { bodyJson: { answer: 43 } } });
  });

  it('parses keys: quoted or bare, rejects empty, long and non-printable ones', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
    expect(parseIdempotencyKey('"abc-1"')).toBe('abc-1');
    expect(parseIdempotencyKey(' abc ')).toBe('abc');
    for (const bad of ['', '""', 'x'.repeat(256), 'ключ']) expect(() => parseIdempotencyKey(bad)).toThrow(ProxyError);
  });
});

describe('SingleFlight', () => {
  it('concurrent runs on two instances (two "processes") produce once; everyone gets the value', async () => {
    const a = new SingleFlight(pool, 'proc-a');
    const b = new SingleFlight(pool, 'proc-b');
    const key = randomUUID();
    let stored: string | undefined;
    let produced = 0;
    const fns = {
      lookup: async () => stored,
      produce: async () => {
        produced++;
        await sleep(300);
        stored = `value-${key}`;
        return stored;
      },
    };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).run('test', key, fns)));
    expect(produced).toBe(1);
    expect(results.filter((r) => r.role === 'owner')).toHaveLength(1);
    expect(new Set(results.map((r) => r.value))).toEqual(new Set([`value-${key}`]));
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM inflight_request WHERE key = $1', [key]);
    expect(rows[0].n).toBe(0);
  });

  it('when the owner fails, its local waiters share the error and the other process produces itself', async () => {
    const a = new SingleFlight(pool, 'proc-a');
    const b = new SingleFlight(pool, 'proc-b');
    const key = randomUUID();
    let stored: string | undefined;
    let attempts = 0;
    const failing = {
      lookup: async () => stored,
      produce: async () => {
        attempts++;
        await sleep(200);
        throw new Error('upstream 500');
      },
    };
    const working = {
      lookup: async () => stored,
      produce: async () => {
        attempts++;
        stored = 'second try';
        return stored;
      },
    };
    const ownerRun = a.run('test', key, failing);
    const localWaiter = a.run('test', key, failing);
    await sleep(50);
    const remote = b.run('test', key, working);
    await expect(ownerRun).rejects.toThrow('upstream 500');
    await expect(localWaiter).rejects.toThrow('upstream 500');
    expect(await remote).toEqual({ role: 'owner', value: 'second try' });
    expect(attempts).toBe(2);
  });

  it('hands same-process waiters the owner\'s live object', async () => {
    const f = new SingleFlight(pool, 'proc-live');
    const key = randomUUID();
    const seen: unknown[] = [];
    const fns = {
      lookup: async () => undefined,
      produce: async (flight: { setLive(x: unknown): void }) => {
        flight.setLive('live-handle');
        await sleep(100);
        return 'done';
      },
      onLive: (x: unknown) => seen.push(x),
    };
    const [owner, waiter] = await Promise.all([f.run('test', key, fns), (async () => (await sleep(20), f.run('test', key, fns)))()]);
    expect(owner.role).toBe('owner');
    expect(waiter).toEqual({ role: 'coalesced', value: 'done', live: true });
    expect(seen).toEqual(['live-handle']);
  });

  it('takes over a crashed owner\'s row once its lease expires, and gives up after waitMs', async () => {
    const key = randomUUID();
    await pool.query(`INSERT INTO inflight_request (scope, key, owner, lease_until) VALUES ('test', $1, 'dead', now() + interval '300 milliseconds')`, [key]);
    const f = new SingleFlight(pool, 'proc-c', { waitMs: 5000 });
    expect(await f.run('test', key, { lookup: async () => undefined, produce: async () => 'mine' })).toEqual({ role: 'owner', value: 'mine' });

    const key2 = randomUUID();
    await pool.query(`INSERT INTO inflight_request (scope, key, owner, lease_until) VALUES ('test', $1, 'slow', now() + interval '1 minute')`, [key2]);
    const impatient = new SingleFlight(pool, 'proc-d', { waitMs: 100 });
    await expect(impatient.run('test', key2, { lookup: async () => undefined, produce: async () => 'never' })).rejects.toBeInstanceOf(CoalesceTimeoutError);
    await pool.query('DELETE FROM inflight_request WHERE key = $1', [key2]);
  });
});

describe('ResponseCache', () => {
  const put = (cache: ResponseCache, tenant: string, key: string, ttlSeconds: number) =>
    cache.put({
      tenant,
      key,
      path: '/v1/chat/completions',
      endpoint: 'chat.completions',
      model: 'gpt-4o-mini',
      status: 200,
      headers: { 'x-request-id': 'req_x' },
      bodyJson: { id: 'chatcmpl-1', choices: [] },
      sseText: 'data: [DONE]\n\n',
      usage: { prompt_tokens: 1 },
      costUsd: 0.002,
      ttlSeconds,
    });

  it('serves from Postgres to another instance and from memory to itself; tenant-scoped', async () => {
    const writer = new ResponseCache(pool, { lruEntries: 10 });
    const reader = new ResponseCache(pool, { lruEntries: 10 });
    const tenant = `t_${randomUUID()}`;
    const key = randomUUID();
    await put(writer, tenant, key, 60);
    expect(await writer.get(tenant, key)).toMatchObject({ fromMemory: true, entry: { costUsd: 0.002, sseText: 'data: [DONE]\n\n' } });
    const fromDb = await reader.get(tenant, key);
    expect(fromDb).toMatchObject({ fromMemory: false, ageSeconds: 0, entry: { bodyJson: { id: 'chatcmpl-1' }, headers: { 'x-request-id': 'req_x' }, usage: { prompt_tokens: 1 } } });
    expect((await reader.get(tenant, key))!.fromMemory).toBe(true);
    expect(await reader.get('someone-else', key)).toBeUndefined();
    await reader.close();
    await writer.close();
    const { rows } = await pool.query('SELECT hit_count, last_hit_at FROM response_cache WHERE tenant = $1 AND cache_key = $2', [tenant, key]);
    expect(rows[0].hit_count).toBe(3);
    expect(rows[0].last_hit_at).not.toBeNull();
  });

  it('expires in both layers, honours max-age, and cleanup deletes expired rows', async () => {
    const cache = new ResponseCache(pool, { lruEntries: 10 });
    const tenant = `t_${randomUUID()}`;
    const key = randomUUID();
    await put(cache, tenant, key, 1);
    expect(await cache.get(tenant, key)).toBeDefined();
    await sleep(1100);
    expect(await cache.get(tenant, key, { maxAgeSeconds: 0 })).toBeUndefined();
    expect(await cache.get(tenant, key)).toBeUndefined();
    expect((await cleanupExpired(pool)).responseCache).toBeGreaterThanOrEqual(1);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM response_cache WHERE tenant = $1', [tenant]);
    expect(rows[0].n).toBe(0);
    await cache.close();
  });

  it('a memory copy older than max-age, or than memoryTtlMs, gives way to a row refreshed by another instance', async () => {
    const a = new ResponseCache(pool, { lruEntries: 10 });
    const b = new ResponseCache(pool, { lruEntries: 10, memoryTtlMs: 300 });
    const tenant = `t_${randomUUID()}`;
    const key = randomUUID();
    await put(a, tenant, key, 60);
    const first = (await b.get(tenant, key))!;
    expect((await b.get(tenant, key))!.fromMemory).toBe(true);
    await sleep(1100);
    await put(a, tenant, key, 60); // a `no-cache` refresh on instance a
    const fresh = await b.get(tenant, key, { maxAgeSeconds: 0 });
    expect(fresh).toMatchObject({ fromMemory: false, ageSeconds: 0 });
    expect(fresh!.entry.createdAt.getTime()).toBeGreaterThan(first.entry.createdAt.getTime());
    await sleep(1100);
    await put(a, tenant, key, 60);
    await sleep(350);
    const reread = (await b.get(tenant, key))!;
    expect(reread.fromMemory).toBe(false);
    expect(reread.entry.createdAt.getTime()).toBeGreaterThan(fresh!.entry.createdAt.getTime());
    await a.close();
    await b.close();
  });

  it('the LRU is bounded', async () => {
    const cache = new ResponseCache(pool, { lruEntries: 2 });
    const tenant = `t_${randomUUID()}`;
    for (const k of ['a', 'b', 'c']) await put(cache, tenant, k, 60);
    expect(cache.memoryEntries).toBe(2);
    expect((await cache.get(tenant, 'a'))!.fromMemory).toBe(false);
    await cache.close();
  });
});

describe('stored answers replay byte for byte (jsonb reorders members)', () => {
  // Members in an order jsonb does not keep (it sorts shorter keys first).
  const text = '{"id":"chatcmpl-9","object":"chat.completion","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8,"prompt_tokens_details":{"cached_tokens":0}},"service_tier":"default"}';
  const raw = { status: 200, headers: { 'x-request-id': 'req_raw' }, contentType: 'application/json', bodyJson: JSON.parse(text) as unknown, bodyText: text };

  /** What a caller receives for a stored response. */
  async function sent(stored: StoredResponse): Promise<string> {
    const app = express();
    app.get('/', (_req, res) => sendStored(res, stored));
    return (await request(app).get('/').buffer(true).parse((res, cb) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => cb(null, body));
    })).body as string;
  }

  it('the jsonb copy alone would not be the same text', async () => {
    const { rows } = await pool.query<{ j: unknown }>('SELECT $1::jsonb AS j', [text]);
    expect(JSON.stringify(rows[0]!.j)).not.toBe(text);
  });

  it('Idempotency-Key and key-less dedup replays send the stored text, with the original usage', async () => {
    const store = new IdempotencyStore(pool);
    const req = idemRequest();
    const owner = await store.begin(req);
    if (owner.kind !== 'owner') throw new Error('expected owner');
    const usage = { promptTokens: 3, completionTokens: 5, cachedTokens: 0, reasoningTokens: 0, totalTokens: 8, source: 'reported' as const };
    await store.complete(owner.lease, raw, 0.001, usage);
    const replay = await store.begin(req);
    if (replay.kind !== 'replay') throw new Error('expected replay');
    expect(replay.stored).toEqual(raw);
    expect(replay.usage).toEqual(usage);
    expect(await sent(replay.stored)).toBe(text);

    const dedup = idemRequest({ keyHash: null, requestHash: dedupRequestHash(`fp_${randomUUID()}`) });
    await store.record(dedup, raw, null);
    const found = await store.findCompleted(dedup.tenant, dedup.requestHash);
    expect(found!.stored.bodyText).toBe(text);
    expect(found!.usage).toBeUndefined();
    // response_json stays filled for the monitoring queries.
    const { rows } = await pool.query('SELECT response_json FROM request_log WHERE tenant = $1', [req.tenant]);
    expect(rows[0].response_json).toEqual(JSON.parse(text));
  });

  it('a stored 4xx replays as it was first sent', async () => {
    const store = new IdempotencyStore(pool);
    const req = idemRequest();
    const owner = await store.begin(req);
    if (owner.kind !== 'owner') throw new Error('expected owner');
    const error = new ProxyError({ status: 400, message: 'Bad thing.', code: 'bad_thing', param: 'messages' });
    await store.fail(owner.lease, error, true);
    const replay = await store.begin(req);
    if (replay.kind !== 'replay') throw new Error('expected replay');
    expect(await sent(replay.stored)).toBe(JSON.stringify(error.body()));
  });

  it('a response-cache hit from Postgres sends the stored text; bodyJson stays for synthesising streams', async () => {
    const writer = new ResponseCache(pool, { lruEntries: 10 });
    const reader = new ResponseCache(pool, { lruEntries: 10 });
    const tenant = `t_${randomUUID()}`;
    const base = { tenant, path: '/v1/chat/completions', endpoint: 'chat.completions', model: 'gpt-4o-mini', status: 200, headers: {}, costUsd: null, ttlSeconds: 60 };
    await writer.put({ ...base, key: 'both', bodyJson: JSON.parse(text), bodyText: text });
    // Only the text: bodyJson is parsed from it.
    const onlyText = await writer.put({ ...base, key: 'text', bodyJson: undefined, bodyText: text });
    expect(onlyText.bodyJson).toEqual(JSON.parse(text));
    for (const key of ['both', 'text']) {
      const hit = (await reader.get(tenant, key))!;
      expect(hit.fromMemory).toBe(false);
      expect(hit.entry.bodyText).toBe(text);
      expect(hit.entry.bodyJson).toEqual(JSON.parse(text));
      expect(await sent(entryAsStored(hit.entry))).toBe(text);
    }
    // An entry without text (older rows) still answers its JSON.
    await writer.put({ ...base, key: 'json', bodyJson: { a: 1 } });
    const old = (await reader.get(tenant, 'json'))!;
    expect(old.entry.bodyText).toBeUndefined();
    expect(await sent(entryAsStored(old.entry))).toBe('{"a":1}');
    await writer.close();
    await reader.close();
  });
});
