import OpenAI from 'openai';
import { request as httpRequest } from 'undici';
import { tenantOf } from '../proxy/src/tenant.js';
import { afterArrivals, answerRateLimited, startLocalUpstream } from './support/localUpstream.js';
import { loggedRows, startStack, type Stack } from './support/stack.js';

const chatPath = 'POST /v1/chat/completions';

describe('/v1 response cache and Idempotency-Key', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({}, { latencyMs: 30 });
  });
  afterAll(() => stack.close());

  const client = (apiKey: string, headers: Record<string, string> = {}) =>
    new OpenAI({ baseURL: stack.proxyUrl, apiKey, maxRetries: 0, defaultHeaders: headers });

  it('X-Tollgate-Cache: on — MISS then HIT with Age, one upstream call, hit logged with cost saved', async () => {
    const c = client('sk-cache-a', { 'x-tollgate-cache': 'on' });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'cache me once' }] };
    const before = stack.mock.counts()[chatPath] ?? 0;
    const first = await c.chat.completions.create(params).withResponse();
    const second = await c.chat.completions.create({ messages: params.messages, model: params.model }).withResponse();
    expect(first.response.headers.get('x-tollgate-cache')).toBe('MISS');
    expect(second.response.headers.get('x-tollgate-cache')).toBe('HIT');
    expect(Number(second.response.headers.get('age'))).toBeGreaterThanOrEqual(0);
    expect(second.data).toEqual(first.data);
    expect((stack.mock.counts()[chatPath] ?? 0) - before).toBe(1);
    const [miss] = await loggedRows(stack, 'request_id = $1', [first.response.headers.get('x-tollgate-request-id')]);
    const [hit] = await loggedRows(stack, 'request_id = $1', [second.response.headers.get('x-tollgate-request-id')]);
    expect(miss).toMatchObject({ cache_status: 'miss' });
    expect(hit).toMatchObject({ cache_status: 'hit', cost_usd: 0 });
    expect(Number(hit!['cost_saved_usd'])).toBeCloseTo(Number(miss!['cost_usd']), 10);
  });

  it('a streamed request is served from an entry stored by a JSON one, and a streamed hit replays the original stream', async () => {
    const c = client('sk-cache-b', { 'x-tollgate-cache': 'on' });
    const params = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'one entry, two shapes' }] };
    const json = await c.chat.completions.create(params);
    const s = await c.chat.completions.create({ ...params, stream: true }).withResponse();
    expect(s.response.headers.get('x-tollgate-cache')).toBe('HIT');
    let text = '';
    for await (const chunk of s.data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe(json.choices[0]!.message.content);

    const streamParams = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'stream first' }], stream: true as const, stream_options: { include_usage: true } };
    const collect = async () => {
      const chunks: unknown[] = [];
      for await (const chunk of await c.chat.completions.create(streamParams)) chunks.push(chunk);
      return chunks;
    };
    const original = await collect();
    const replay = await collect();
    expect(replay).toEqual(original);
  });

  it('Cache-Control: no-store bypasses; no-cache refreshes', async () => {
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'no store please' }] };
    const before = stack.mock.counts()[chatPath] ?? 0;
    const ns = client('sk-cache-c', { 'x-tollgate-cache': 'on', 'cache-control': 'no-store' });
    await ns.chat.completions.create(params);
    const r = await ns.chat.completions.create(params).withResponse();
    expect(r.response.headers.get('x-tollgate-cache')).toBe('BYPASS');
    expect((stack.mock.counts()[chatPath] ?? 0) - before).toBe(2);
    const nc = client('sk-cache-c', { 'x-tollgate-cache': 'on', 'cache-control': 'no-cache' });
    const refreshed = await nc.chat.completions.create(params).withResponse();
    expect(refreshed.response.headers.get('x-tollgate-cache')).toBe('MISS');
    const hit = await client('sk-cache-c', { 'x-tollgate-cache': 'on' }).chat.completions.create(params).withResponse();
    expect(hit.response.headers.get('x-tollgate-cache')).toBe('HIT');
  });

  it('errors are never cached', async () => {
    const c = client('sk-cache-d', { 'x-tollgate-cache': 'on' });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'fail' }] };
    await expect(c.chat.completions.create(params, { headers: { 'x-mock-error': '500' } })).rejects.toThrow();
    const ok = await c.chat.completions.create(params).withResponse();
    expect(ok.response.headers.get('x-tollgate-cache')).toBe('MISS');
  });

  it('20 concurrent identical cache-enabled streamed requests make one upstream call and all get the full stream', async () => {
    const c = client('sk-cache-e', { 'x-tollgate-cache': 'on' });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'coalesce this stream' }], stream: true as const };
    const before = stack.mock.counts()[chatPath] ?? 0;
    const texts = await Promise.all(
      Array.from({ length: 20 }, async () => {
        let t = '';
        for await (const chunk of await c.chat.completions.create(params, { headers: { 'x-mock-chunk-delay-ms': '30' } })) t += chunk.choices[0]?.delta?.content ?? '';
        return t;
      }),
    );
    expect((stack.mock.counts()[chatPath] ?? 0) - before).toBe(1);
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]!.length).toBeGreaterThan(0);
    // The owner logs after storing the entry, which can finish just after its client saw [DONE].
    let rows: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 40 && rows.length < 20; i++) {
      rows = await loggedRows(stack, 'tenant = $1 AND stream', [tenantOf('sk-cache-e')]);
      if (rows.length < 20) await new Promise((r) => setTimeout(r, 50));
    }
    expect(rows.filter((r) => r['cache_status'] === 'miss')).toHaveLength(1);
    expect(rows.filter((r) => r['cache_status'] === 'coalesced' || r['cache_status'] === 'hit')).toHaveLength(19);
  });

  it('when the first caller of a coalesced stream disconnects, the waiting caller still gets the whole stream', async () => {
    const c = client('sk-cache-owner-leaves', { 'x-tollgate-cache': 'on' });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'owner leaves early' }], stream: true as const };
    const opts = { headers: { 'x-mock-chunk-delay-ms': '60' } };
    const before = stack.mock.counts()[chatPath] ?? 0;
    const owner = new AbortController();
    const ownerStream = await c.chat.completions.create(params, { ...opts, signal: owner.signal });
    const ownerIter = ownerStream[Symbol.asyncIterator]();
    await ownerIter.next(); // the owner's stream is live
    const waiter = (async () => {
      let t = '';
      for await (const chunk of await c.chat.completions.create(params, opts)) t += chunk.choices[0]?.delta?.content ?? '';
      return t;
    })();
    await new Promise((r) => setTimeout(r, 100));
    owner.abort();
    await ownerIter.return?.();
    const text = await waiter;
    expect((stack.mock.counts()[chatPath] ?? 0) - before).toBe(1);
    const direct = await new OpenAI({ baseURL: stack.mock.url, apiKey: 'sk-x', maxRetries: 0 }).chat.completions.create({ ...params, stream: false });
    expect(text).toBe(direct.choices[0]!.message.content);
  });

  it('concurrent duplicates of a call upstream refuses share its answer instead of each retrying', async () => {
    // The refusal comes only once all 20 callers reached the proxy, and a moment later.
    let calls = 0;
    let everyoneIn!: Promise<void>;
    const upstream = await startLocalUpstream((_req, res) => {
      calls++;
      void everyoneIn.then(() => answerRateLimited(res, '1'));
    });
    const own = await startStack({ UPSTREAM_BASE_URL: upstream.url });
    everyoneIn = afterArrivals(own.server, 20);
    try {
      const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'rate limited together' }] };
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          httpRequest(`${own.proxyUrl}/chat/completions`, {
            method: 'POST',
            body: JSON.stringify(params),
            headers: { 'content-type': 'application/json', authorization: 'Bearer sk-herd', 'x-tollgate-cache': 'on' },
          }).then(async (r) => ({ status: r.statusCode, retryAfter: r.headers['retry-after'], body: await r.body.text() })),
        ),
      );
      expect(calls).toBe(1);
      expect(results.every((r) => r.status === 429 && r.retryAfter === '1')).toBe(true);
      expect(new Set(results.map((r) => r.body)).size).toBe(1);
    } finally {
      await own.close();
      await upstream.close();
    }
  });

  it('callers waiting on one Idempotency-Key share its failed attempt; a later retry runs again', async () => {
    // The attempt fails only once all 20 callers reached the proxy, and a moment later.
    let calls = 0;
    let everyoneIn!: Promise<void>;
    const upstream = await startLocalUpstream((_req, res) => {
      calls++;
      if (calls > 1) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'chatcmpl-retry', object: 'chat.completion', created: 0, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
        return;
      }
      void everyoneIn.then(() => answerRateLimited(res, '1'));
    });
    const own = await startStack({ UPSTREAM_BASE_URL: upstream.url });
    everyoneIn = afterArrivals(own.server, 20);
    try {
      const key = `herd-${Date.now()}`;
      const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'keyed and rate limited' }] });
      const send = () =>
        httpRequest(`${own.proxyUrl}/chat/completions`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-key-herd', 'idempotency-key': key },
        }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
      const results = await Promise.all(Array.from({ length: 20 }, send));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(429));
      expect(calls).toBe(1);
      const retry = await send();
      expect(retry.status).toBe(200);
      expect(calls).toBe(2);
    } finally {
      await own.close();
      await upstream.close();
    }
  });

  it('tenants are isolated: the same request with two API keys reaches upstream twice', async () => {
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'isolated' }] };
    const before = stack.mock.counts()[chatPath] ?? 0;
    const a = await client('sk-tenant-1', { 'x-tollgate-cache': 'on' }).chat.completions.create(params).withResponse();
    const b = await client('sk-tenant-2', { 'x-tollgate-cache': 'on' }).chat.completions.create(params).withResponse();
    expect(a.response.headers.get('x-tollgate-cache')).toBe('MISS');
    expect(b.response.headers.get('x-tollgate-cache')).toBe('MISS');
    expect((stack.mock.counts()[chatPath] ?? 0) - before).toBe(2);
  });

  it('Idempotency-Key on /v1: replay without upstream call, 422 for another body, 5xx not stored', async () => {
    const key = `idem-${Date.now()}`;
    const c = client('sk-idem-v1');
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'charge once' }] };
    const before = stack.mock.counts()[chatPath] ?? 0;
    const first = await c.chat.completions.create(params, { headers: { 'Idempotency-Key': key } }).withResponse();
    const again = await c.chat.completions.create(params, { headers: { 'Idempotency-Key': key } }).withResponse();
    expect(again.data).toEqual(first.data);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect((stack.mock.counts()[chatPath] ?? 0) - before).toBe(1);
    const [row] = await loggedRows(stack, 'request_id = $1', [again.response.headers.get('x-tollgate-request-id')]);
    expect(row).toMatchObject({ cache_status: 'idempotent_replay', cost_usd: 0, tokens_prompt: first.data.usage!.prompt_tokens });
    expect(Number(row!['cost_saved_usd'])).toBeGreaterThan(0);

    await expect(
      c.chat.completions.create({ ...params, messages: [{ role: 'user', content: 'something else' }] }, { headers: { 'Idempotency-Key': key } }),
    ).rejects.toMatchObject({ status: 422 });

    const failKey = `${key}-fail`;
    await expect(c.chat.completions.create(params, { headers: { 'Idempotency-Key': failKey, 'x-mock-error': '500' } })).rejects.toMatchObject({ status: 500 });
    const retried = await c.chat.completions.create(params, { headers: { 'Idempotency-Key': failKey } }).withResponse();
    expect(retried.response.headers.get('idempotent-replayed')).toBeNull();
  });

  it('Idempotency-Key on a stream replays the recorded event stream', async () => {
    const key = `idem-stream-${Date.now()}`;
    const c = client('sk-idem-stream');
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'stream once' }], stream: true as const };
    const collect = async () => {
      const r = await c.chat.completions.create(params, { headers: { 'Idempotency-Key': key } }).withResponse();
      const chunks: unknown[] = [];
      for await (const chunk of r.data) chunks.push(chunk);
      return { chunks, replayed: r.response.headers.get('idempotent-replayed') };
    };
    const a = await collect();
    const b = await collect();
    expect(b.replayed).toBe('true');
    expect(b.chunks).toEqual(a.chunks);
    // The caller asked for no usage, yet the replay's row carries the original call's tokens.
    const rows = await loggedRows(stack, 'tenant = $1', [tenantOf('sk-idem-stream')]);
    const original = rows.find((r) => r['cache_status'] === 'bypass');
    const replay = rows.find((r) => r['cache_status'] === 'idempotent_replay');
    expect(rows).toHaveLength(2);
    expect(replay).toMatchObject({ tokens_prompt: original!['tokens_prompt'], tokens_completion: original!['tokens_completion'], usage_source: 'reported' });
    expect(original!['tokens_prompt']).toBeGreaterThan(0);
  });

  it('Idempotency-Key and the cache together: the key still replays and still refuses another body', async () => {
    const key = `idem-cache-${Date.now()}`;
    const c = client('sk-idem-cache', { 'x-tollgate-cache': 'on' });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'cached and keyed' }] };
    const before = stack.mock.counts()[chatPath] ?? 0;
    const first = await c.chat.completions.create(params, { headers: { 'Idempotency-Key': key } }).withResponse();
    const again = await c.chat.completions.create(params, { headers: { 'Idempotency-Key': key } }).withResponse();
    expect(first.response.headers.get('x-tollgate-cache')).toBe('MISS');
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(again.data).toEqual(first.data);
    expect((stack.mock.counts()[chatPath] ?? 0) - before).toBe(1);
    await expect(c.chat.completions.create({ ...params, messages: [{ role: 'user', content: 'other' }] }, { headers: { 'Idempotency-Key': key } })).rejects.toMatchObject({
      status: 422,
    });
  });

  it('cache hits from Postgres and idempotent replays are the upstream bytes, not a re-serialisation', async () => {
    // No in-process LRU: every hit is read back from Postgres.
    const pgOnly = await startStack({ RESPONSE_CACHE_LRU_ENTRIES: '0' });
    try {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'exact bytes' }] });
    const send = (headers: Record<string, string>) =>
      httpRequest(`${pgOnly.proxyUrl}/chat/completions`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bytes', ...headers },
      }).then(async (r) => ({ headers: r.headers, text: await r.body.text() }));
    const direct = await httpRequest(`${pgOnly.mock.url}/chat/completions`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bytes' },
    }).then((r) => r.body.text());
    const miss = await send({ 'x-tollgate-cache': 'on' });
    const hit = await send({ 'x-tollgate-cache': 'on' });
    expect(hit.headers['x-tollgate-cache']).toBe('HIT');
    expect(miss.text).toBe(direct);
    expect(hit.text).toBe(direct);
    const key = `bytes-${Date.now()}`;
    await send({ 'idempotency-key': key });
    const replay = await send({ 'idempotency-key': key });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.text).toBe(direct);
    } finally {
      await pgOnly.close();
    }
  });

  it('requests differing only in a seed beyond 2^53 are different requests for the cache and for a key', async () => {
    const send = (seed: string, headers: Record<string, string> = {}) =>
      httpRequest(`${stack.proxyUrl}/chat/completions`, {
        method: 'POST',
        body: `{"model":"gpt-4o-mini","seed":${seed},"messages":[{"role":"user","content":"big seeds"}]}`,
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bigseed', ...headers },
      });
    const a = await send('9007199254740992', { 'x-tollgate-cache': 'on' });
    const b = await send('9007199254740993', { 'x-tollgate-cache': 'on' });
    await a.body.dump();
    await b.body.dump();
    expect(a.headers['x-tollgate-cache']).toBe('MISS');
    expect(b.headers['x-tollgate-cache']).toBe('MISS');
    const key = `seed-${Date.now()}`;
    const k1 = await send('9007199254740992', { 'idempotency-key': key });
    await k1.body.dump();
    const k2 = await send('9007199254740993', { 'idempotency-key': key });
    expect(k2.statusCode).toBe(422);
    await k2.body.dump();
  });

  it('a hit of a model without a price saved an unknown amount: cost_saved_usd NULL, not 0', async () => {
    const c = client('sk-unpriced-hit', { 'x-tollgate-cache': 'on' });
    const params = { model: 'my-unpriced-model', messages: [{ role: 'user' as const, content: 'price unknown' }] };
    await c.chat.completions.create(params);
    const hit = await c.chat.completions.create(params).withResponse();
    expect(hit.response.headers.get('x-tollgate-cache')).toBe('HIT');
    const rows = await loggedRows(stack, 'tenant = $1', [tenantOf('sk-unpriced-hit')]);
    // The miss is logged after its cache write, so the hit's row may come first; a hit that
    // arrives while that write is still running joins it and is logged coalesced.
    const served = rows.filter((r) => r['cache_status'] !== 'miss');
    expect(rows.find((r) => r['cache_status'] === 'miss')).toMatchObject({ cost_usd: null, cost_saved_usd: 0 });
    expect(served).toHaveLength(1);
    expect(['hit', 'coalesced']).toContain(served[0]!['cache_status']);
    expect(served[0]).toMatchObject({ cost_usd: 0, cost_saved_usd: null });
  });

  it('two Idempotency-Key headers are a 400, not one key made of both', async () => {
    const res = await httpRequest(`${stack.proxyUrl}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
      headers: ['content-type', 'application/json', 'authorization', 'Bearer sk-x', 'idempotency-key', 'a', 'idempotency-key', 'b'],
    });
    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toMatchObject({ error: { code: 'invalid_idempotency_key' } });
  });

  it('a malformed Idempotency-Key is a 400', async () => {
    const res = await httpRequest(`${stack.proxyUrl}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-x', 'idempotency-key': '' },
    });
    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toMatchObject({ error: { code: 'invalid_idempotency_key' } });
  });
});

describe('Idempotency-Key on /v1: a duplicate in the same process', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ IDEMPOTENCY_WAIT_MS: '300' });
  });
  afterAll(() => stack.close());

  const send = (key: string, latencyMs: number, apiKey: string) =>
    httpRequest(`${stack.proxyUrl}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `wait on ${key}` }] }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, 'idempotency-key': key, 'x-mock-latency-ms': String(latencyMs) },
    }).then(async (r) => ({ status: r.statusCode, headers: r.headers, body: await r.body.text() }));

  it('waits at most IDEMPOTENCY_WAIT_MS, then 409', async () => {
    const first = send('slow-key', 1500, 'sk-wait-409');
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const second = await send('slow-key', 0, 'sk-wait-409');
    expect(second.status).toBe(409);
    expect(Date.now() - started).toBeLessThan(1200);
    expect((await first).status).toBe(200);
  });

  it('a waiting duplicate whose caller hangs up is logged 499 and never runs the request itself', async () => {
    const before = stack.mock.total();
    const first = send('gone-key', 600, 'sk-wait-gone');
    await new Promise((r) => setTimeout(r, 100));
    const controller = new AbortController();
    const waiter = httpRequest(`${stack.proxyUrl}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'wait on gone-key' }] }),
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-wait-gone', 'idempotency-key': 'gone-key' },
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    await expect(waiter).rejects.toThrow();
    expect((await first).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(stack.mock.total() - before).toBe(1);
    const rows = await loggedRows(stack, 'tenant = $1', [tenantOf('sk-wait-gone')]);
    expect(rows.map((r) => [r['status_code'], r['client_aborted']]).sort()).toEqual([
      [200, false],
      [499, true],
    ]);
  });

  it('a retry sent the moment an answer arrives is a retry: a replay, or a new attempt after a failure', async () => {
    for (let i = 0; i < 10; i++) {
      const key = `retry-${i}`;
      const apiKey = `sk-retry-${i}`;
      await send(key, 0, apiKey);
      const replay = await send(key, 0, apiKey);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      const failedKey = `retry-fail-${i}`;
      const failed = await httpRequest(`${stack.proxyUrl}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `wait on ${failedKey}` }] }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, 'idempotency-key': failedKey, 'x-mock-error': '429' },
      });
      expect(failed.statusCode).toBe(429);
      await failed.body.dump();
      expect((await send(failedKey, 0, apiKey)).status).toBe(200);
      const rows = await loggedRows(stack, 'tenant = $1', [tenantOf(apiKey)]);
      expect(rows.map((r) => r['cache_status']).sort()).toEqual(['bypass', 'bypass', 'bypass', 'idempotent_replay']);
    }
  });

  it('a duplicate that waited and got the answer is logged coalesced, a later one idempotent_replay', async () => {
    const first = send('wait-key', 150, 'sk-wait-ok');
    await new Promise((r) => setTimeout(r, 50));
    const waited = await send('wait-key', 0, 'sk-wait-ok');
    expect(waited.headers['idempotent-replayed']).toBe('true');
    expect(waited.body).toBe((await first).body);
    await send('wait-key', 0, 'sk-wait-ok');
    const rows = await loggedRows(stack, 'tenant = $1', [tenantOf('sk-wait-ok')]);
    expect(rows.map((r) => r['cache_status']).sort()).toEqual(['bypass', 'coalesced', 'idempotent_replay']);
  });
});
