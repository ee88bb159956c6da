import { randomUUID } from 'node:crypto';
import { idempotencyKeyHash } from '../proxy/src/idempotency/keys.js';
import { buildReplica, removeReplicaBuild, spawnReplica, type Replica } from './support/replicaProcess.js';
import { afterArrivals, answerRateLimited, startLocalUpstream } from './support/localUpstream.js';
import { startStack, type Stack } from './support/stack.js';

const CHAT = '/v1/chat/completions';

/** POST a JSON body with fetch (real HTTP on 127.0.0.1) and return status, headers and parsed body. */
async function post(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const personaPayload = (tag: string, numPersonas = 4) => ({
  email: `${tag}@example.com`,
  leadData: { company: `Acme ${tag}`, industry: 'logistics', employees: 250 },
  config: { numPersonas },
});

async function personaRows(stack: Stack, requestIds: string[]) {
  await stack.deps.callLog.flush();
  const { rows } = await stack.pool.query<{ cache_status: string; cost_usd: number; cost_saved_usd: number; tokens_prompt: number | null }>(
    `SELECT cache_status, cost_usd, cost_saved_usd, tokens_prompt FROM openai_call_log
      WHERE endpoint = 'personas.generate' AND request_id = ANY($1)`,
    [requestIds],
  );
  return rows;
}

describe('coalescing: identical concurrent persona requests make one upstream call', () => {
  let stack: Stack;
  let base: string;
  beforeAll(async () => {
    stack = await startStack({ OPENAI_API_KEY: 'sk-coalesce' }, { latencyMs: 400 });
    base = stack.proxyUrl.replace(/\/v1$/, '');
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.mock.reset());

  it('50 concurrent requests in one process: one upstream call, one miss, 49 served without one', async () => {
    const payload = personaPayload(`one-${randomUUID()}`);
    const auth = { authorization: `Bearer sk-${randomUUID()}` };
    const results = await Promise.all(Array.from({ length: 50 }, () => post(base, '/api/personas/generate', payload, auth)));
    expect(stack.mock.total(CHAT)).toBe(1);
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    const first = results[0]!.json.personas;
    expect(first).toHaveLength(4);
    for (const r of results) expect(r.json.personas).toEqual(first);
    expect(results.filter((r) => r.json.fromCache === false)).toHaveLength(1);

    const rows = await personaRows(stack, results.map((r) => r.headers.get('x-tollgate-request-id')!));
    expect(rows).toHaveLength(50);
    const misses = rows.filter((r) => r.cache_status === 'miss');
    expect(misses).toHaveLength(1);
    expect(misses[0]!.tokens_prompt).toBeGreaterThan(0);
    expect(misses[0]!.cost_usd).toBeGreaterThan(0);
    const served = rows.filter((r) => r.cache_status !== 'miss');
    expect(served.every((r) => ['coalesced', 'hit', 'idempotent_replay'].includes(r.cache_status))).toBe(true);
    expect(served.filter((r) => r.cache_status === 'coalesced').length).toBeGreaterThan(0);
    // Nothing was paid for them, and each saved what the generation cost.
    for (const r of served) {
      expect(r.cost_usd).toBe(0);
      expect(r.cost_saved_usd).toBeCloseTo(misses[0]!.cost_usd, 10);
    }
  });

  describe('across two proxy processes on the same database', () => {
    let replica: Replica;
    let entry: string;
    beforeAll(async () => {
      entry = buildReplica();
      replica = await spawnReplica(entry, {
        TEST_DATABASE_URL: process.env.TEST_DATABASE_URL!,
        UPSTREAM_BASE_URL: stack.mock.url,
        OPENAI_API_KEY: 'sk-coalesce',
      });
    }, 120_000);
    afterAll(async () => {
      await replica?.stop();
      if (entry) removeReplicaBuild(entry);
    });

    it('50 requests split across both processes: exactly one upstream call', async () => {
      const payload = personaPayload(`two-${randomUUID()}`, 5);
      const auth = { authorization: `Bearer sk-${randomUUID()}` };
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => post(i % 2 === 0 ? base : replica.baseUrl, '/api/personas/generate', payload, auth)),
      );
      expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
      expect(stack.mock.total(CHAT)).toBe(1);
      const first = results[0]!.json.personas;
      expect(first).toHaveLength(5);
      for (const r of results) expect(r.json.personas).toEqual(first);
      expect(results.filter((r) => r.json.fromCache === false)).toHaveLength(1);
    });

    it('an Idempotency-Key in flight in one process is waited for by the other', async () => {
      const payload = personaPayload(`key-two-${randomUUID()}`);
      const headers = { authorization: `Bearer sk-${randomUUID()}`, 'idempotency-key': randomUUID() };
      const [a, b] = await Promise.all([
        post(base, '/api/personas/generate', payload, headers),
        post(replica.baseUrl, '/api/personas/generate', payload, headers),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(stack.mock.total(CHAT)).toBe(1);
      expect(a.json.personas).toEqual(b.json.personas);
      expect([a.headers.get('idempotent-replayed'), b.headers.get('idempotent-replayed')].sort()).toEqual(['true', null].sort());
    });
  });
});

describe('Idempotency-Key on the persona endpoint', () => {
  let stack: Stack;
  let base: string;
  beforeAll(async () => {
    stack = await startStack({ OPENAI_API_KEY: 'sk-idem' }, { latencyMs: 300 });
    base = stack.proxyUrl.replace(/\/v1$/, '');
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.mock.reset());

  it('replays the stored response without an upstream call, marked Idempotent-Replayed', async () => {
    const headers = { 'idempotency-key': `"${randomUUID()}"` };
    const payload = personaPayload(`replay-${randomUUID()}`);
    const first = await post(base, '/api/personas/generate', payload, headers);
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await post(base, '/api/personas/generate', payload, headers);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.personas).toEqual(first.json.personas);
    expect(again.json).toMatchObject({ fromCache: true, fromIdempotentCache: true });
    expect(stack.mock.total(CHAT)).toBe(1);
    const rows = await personaRows(stack, [again.headers.get('x-tollgate-request-id')!]);
    expect(rows).toEqual([expect.objectContaining({ cache_status: 'idempotent_replay', cost_usd: 0 })]);
    expect(rows[0]!.cost_saved_usd).toBeGreaterThan(0);
    const { rows: stored } = await stack.pool.query(
      `SELECT replay_count, state, status_code, key_hash, response_json FROM request_log WHERE tenant = 'anonymous' AND key_hash = $1`,
      [idempotencyKeyHash(headers['idempotency-key'].replace(/"/g, ''))],
    );
    expect(stored).toEqual([expect.objectContaining({ replay_count: 1, state: 'completed', status_code: 200 })]);
    expect(stored[0].response_json.personas).toEqual(first.json.personas);
    // The key itself is never stored, only its hash.
    expect(JSON.stringify(stored)).not.toContain(headers['idempotency-key'].replace(/"/g, ''));
  });

  it('the same key with a different request is a 422, and nothing reaches upstream', async () => {
    const headers = { 'idempotency-key': randomUUID() };
    expect((await post(base, '/api/personas/generate', personaPayload(`m1-${randomUUID()}`), headers)).status).toBe(200);
    const other = await post(base, '/api/personas/generate', personaPayload(`m2-${randomUUID()}`), headers);
    expect(other.status).toBe(422);
    expect(other.json.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_mismatch' });
    expect(other.headers.get('x-should-retry')).toBe('false');
    expect(stack.mock.total(CHAT)).toBe(1);
  });

  it('a request arriving while the first runs waits for it and gets the same answer', async () => {
    const headers = { 'idempotency-key': randomUUID() };
    const payload = personaPayload(`inflight-${randomUUID()}`);
    const results = await Promise.all(Array.from({ length: 5 }, () => post(base, '/api/personas/generate', payload, headers)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(stack.mock.total(CHAT)).toBe(1);
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(4);
    for (const r of results) expect(r.json.personas).toEqual(results[0]!.json.personas);
    const rows = await personaRows(stack, results.map((r) => r.headers.get('x-tollgate-request-id')!));
    expect(rows.map((r) => r.cache_status).sort()).toEqual(['coalesced', 'coalesced', 'coalesced', 'coalesced', 'miss']);
  });

  it('a malformed key is a 400', async () => {
    const res = await post(base, '/api/personas/generate', personaPayload('badkey'), { 'idempotency-key': 'x'.repeat(300) });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('invalid_idempotency_key');
  });

  it('chat/stream: the recorded event stream is replayed byte for byte', async () => {
    const headers = { 'idempotency-key': randomUUID() };
    const body = { messages: [{ role: 'user', content: `stream once ${randomUUID()}` }] };
    const first = await post(base, '/api/chat/stream', body, headers);
    expect(first.status).toBe(200);
    expect(first.text).toContain('data: [DONE]');
    const again = await post(base, '/api/chat/stream', body, headers);
    expect(again.headers.get('content-type')).toContain('text/event-stream');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    expect(stack.mock.total(CHAT)).toBe(1);
  });
});

describe('Idempotency-Key: bounded wait and failures', () => {
  it('answers 409 when the first request is still running after IDEMPOTENCY_WAIT_MS', async () => {
    const stack = await startStack({ OPENAI_API_KEY: 'sk-idem-wait', IDEMPOTENCY_WAIT_MS: '100' }, { latencyMs: 1000 });
    try {
      const base = stack.proxyUrl.replace(/\/v1$/, '');
      const headers = { 'idempotency-key': randomUUID() };
      const payload = personaPayload(`wait-${randomUUID()}`);
      const slow = post(base, '/api/personas/generate', payload, headers);
      await new Promise((r) => setTimeout(r, 200));
      const second = await post(base, '/api/personas/generate', payload, headers);
      expect(second.status).toBe(409);
      expect(second.json.error.code).toBe('idempotency_request_in_progress');
      expect(second.headers.get('x-should-retry')).toBe('true');
      expect((await slow).status).toBe(200);
      const third = await post(base, '/api/personas/generate', payload, headers);
      expect(third.headers.get('idempotent-replayed')).toBe('true');
      expect(stack.mock.total(CHAT)).toBe(1);
    } finally {
      await stack.close();
    }
  });

  it('callers waiting on one key share a rate-limited attempt (retry-after included) instead of each retrying', async () => {
    // The attempt fails only once all 20 callers reached the proxy, and a moment later.
    let calls = 0;
    let everyoneIn!: Promise<void>;
    const limited = await startLocalUpstream((_req, res) => {
      calls++;
      void everyoneIn.then(() => answerRateLimited(res, '7'));
    });
    const stack = await startStack({ OPENAI_API_KEY: 'sk-idem-429', UPSTREAM_BASE_URL: limited.url });
    everyoneIn = afterArrivals(stack.server, 20);
    try {
      const base = stack.proxyUrl.replace(/\/v1$/, '');
      const headers = { 'idempotency-key': randomUUID() };
      const payload = personaPayload(`limited-${randomUUID()}`);
      const results = await Promise.all(Array.from({ length: 20 }, () => post(base, '/api/personas/generate', payload, headers)));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(429));
      expect(results.every((r) => r.headers.get('retry-after') === '7' && r.json.error.code === 'rate_limit_exceeded')).toBe(true);
      expect(calls).toBe(1);
      // Not stored: the next try with the key runs again.
      await post(base, '/api/personas/generate', payload, headers);
      expect(calls).toBe(2);
    } finally {
      await stack.close();
      await limited.close();
    }
  });

  it('does not store an upstream failure: a retry with the same key runs again', async () => {
    // Nothing listens on port 9 of 127.0.0.1: every upstream attempt fails with a network error.
    const stack = await startStack({ OPENAI_API_KEY: 'sk-idem-fail', UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1' });
    try {
      const base = stack.proxyUrl.replace(/\/v1$/, '');
      const headers = { 'idempotency-key': randomUUID() };
      const payload = personaPayload(`fail-${randomUUID()}`);
      const first = await post(base, '/api/personas/generate', payload, headers);
      expect(first.status).toBe(502);
      const { rows } = await stack.pool.query(`SELECT count(*)::int AS n FROM request_log WHERE endpoint = 'personas.generate' AND key_hash IS NOT NULL AND state = 'in_progress'`);
      expect(rows[0].n).toBe(0);
      const retry = await post(base, '/api/personas/generate', payload, headers);
      expect(retry.status).toBe(502);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
    } finally {
      await stack.close();
    }
  });
});
