import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { toProxyError } from '../proxy/src/call/errors.js';
import { startLocalUpstream, type LocalUpstream } from './support/localUpstream.js';
import { loggedRows, loggedRowsWhenThere, startStack, type Stack } from './support/stack.js';

describe('persona and chat-stream endpoints: validation and call-log rows', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ OPENAI_API_KEY: 'sk-api', PERSONA_MAX: '20' });
  });
  afterAll(() => stack.close());
  const api = () => request(stack.app);
  const valid = { email: 'rep@example.com', leadData: { plan: 'pro' }, config: { numPersonas: 2 } };

  it.each([
    ['no body', undefined, null],
    ['missing email', { ...valid, email: undefined }, 'email'],
    ['malformed email', { ...valid, email: 'not-an-email' }, 'email'],
    ['leadData not an object', { ...valid, leadData: ['a'] }, 'leadData'],
    ['leadData missing', { ...valid, leadData: undefined }, 'leadData'],
    ['numPersonas not an integer', { ...valid, config: { numPersonas: 2.5 } }, 'config.numPersonas'],
    ['numPersonas a string', { ...valid, config: { numPersonas: '3' } }, 'config.numPersonas'],
    ['numPersonas zero', { ...valid, config: { numPersonas: 0 } }, 'config.numPersonas'],
    ['numPersonas over PERSONA_MAX', { ...valid, config: { numPersonas: 21 } }, 'config.numPersonas'],
  ])('400 for %s, in OpenAI error shape, nothing sent upstream', async (_name, body, param) => {
    stack.mock.reset();
    const req = api().post('/api/personas/generate');
    const res = body === undefined ? await req : await req.send(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param });
    expect(typeof res.body.error.message).toBe('string');
    expect(stack.mock.total()).toBe(0);
  });

  it('400 for malformed JSON', async () => {
    const res = await api().post('/api/personas/generate').set('content-type', 'application/json').send('{"email":');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  it('exactly numPersonas personas, validated; a miss logs tokens and cost, a hit cost 0 and what it saved', async () => {
    const auth = `Bearer sk-${randomUUID()}`;
    const body = { ...valid, config: { numPersonas: 7 } };
    const miss = await api().post('/api/personas/generate').set('authorization', auth).send(body).expect(200);
    expect(miss.body.personas).toHaveLength(7);
    for (const p of miss.body.personas) expect(p).toEqual(expect.objectContaining({ name: expect.any(String), age: expect.any(Number), goals: expect.any(Array) }));
    expect(miss.headers['x-tollgate-cache']).toBe('MISS');
    // Another requester (email) with the same lead: a persona-cache hit, not a dedup replay.
    const hit = await api().post('/api/personas/generate').set('authorization', auth).send({ ...body, email: 'other@example.com' }).expect(200);
    expect(hit.body).toMatchObject({ fromCache: true, fromIdempotentCache: false });
    expect(hit.headers['x-tollgate-cache']).toBe('HIT');
    const dup = await api().post('/api/personas/generate').set('authorization', auth).send(body).expect(200);
    expect(dup.body).toMatchObject({ fromCache: true, fromIdempotentCache: true });

    const [m] = await loggedRows(stack, 'request_id = $1', [miss.headers['x-tollgate-request-id']]);
    expect(m).toMatchObject({ endpoint: 'personas.generate', path: '/api/personas/generate', method: 'POST', cache_status: 'miss', status_code: 200, usage_source: 'reported' });
    expect(m!['tokens_prompt']).toBeGreaterThan(0);
    expect(m!['tokens_completion']).toBeGreaterThan(0);
    expect(m!['cost_usd']).toBeGreaterThan(0);
    const [h] = await loggedRows(stack, 'request_id = $1', [hit.headers['x-tollgate-request-id']]);
    expect(h).toMatchObject({ cache_status: 'hit', cost_usd: 0 });
    expect(h!['cost_saved_usd']).toBeCloseTo(m!['cost_usd'] as number, 10);
    const [d] = await loggedRows(stack, 'request_id = $1', [dup.headers['x-tollgate-request-id']]);
    expect(d).toMatchObject({ cache_status: 'idempotent_replay', cost_usd: 0 });
    expect(d!['cost_saved_usd']).toBeCloseTo(m!['cost_usd'] as number, 10);
    // The tenant is a hash; the key is stored nowhere.
    expect(JSON.stringify(m)).not.toContain(auth.slice(7));
    const { rows } = await stack.pool.query('SELECT hit_count, cost_usd FROM persona_cache WHERE tenant = $1', [m!['tenant']]);
    expect(rows).toEqual([{ hit_count: 1, cost_usd: m!['cost_usd'] }]);
  });

  it('hits and replays are the miss\'s text but for the two flags; replay rows carry the original tokens', async () => {
    const auth = `Bearer sk-${randomUUID()}`;
    const body = { ...valid, leadData: { plan: 'enterprise', seats: 40 }, config: { numPersonas: 3 } };
    const post = (b: object, key?: string) => {
      const r = api().post('/api/personas/generate').set('authorization', auth);
      return (key ? r.set('idempotency-key', key) : r).send(b).expect(200);
    };
    const key = `k-${randomUUID()}`;
    const miss = await post(body, key);
    const keyed = await post(body, key);
    const hit = await post({ ...body, email: 'another@example.com' });
    await post({ ...body, email: 'third@example.com' });
    const dup = await post({ ...body, email: 'third@example.com' });
    const flags = (text: string) => text.replace('"fromCache":true,"fromIdempotentCache":true', '"fromCache":false,"fromIdempotentCache":false').replace('"fromCache":true,"fromIdempotentCache":false', '"fromCache":false,"fromIdempotentCache":false');
    expect(miss.text).toMatch(/^\{"personas":\[\{"name":.*"fromCache":false,"fromIdempotentCache":false\}$/);
    expect(keyed.headers['idempotent-replayed']).toBe('true');
    expect(flags(keyed.text)).toBe(miss.text);
    expect(flags(hit.text)).toBe(miss.text);
    expect(dup.body.fromIdempotentCache).toBe(true);
    expect(flags(dup.text)).toBe(miss.text);

    const [m] = await loggedRows(stack, 'request_id = $1', [miss.headers['x-tollgate-request-id']]);
    for (const res of [keyed, dup]) {
      const [r] = await loggedRows(stack, 'request_id = $1', [res.headers['x-tollgate-request-id']]);
      expect(r).toMatchObject({ cache_status: 'idempotent_replay', cost_usd: 0 });
      if (res === keyed) expect(r).toMatchObject({ tokens_prompt: m!['tokens_prompt'], tokens_completion: m!['tokens_completion'], usage_source: 'reported' });
    }
  });

  it('chat/stream streams upstream data lines and logs a chat.stream row with usage', async () => {
    const res = await api()
      .post('/api/chat/stream')
      .send({ messages: [{ role: 'user', content: 'Count to three' }], model: 'gpt-4o-mini' })
      .expect(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const events = res.text.split('\n\n').filter(Boolean);
    expect(events.length).toBeGreaterThan(3);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    const [row] = await loggedRows(stack, 'request_id = $1', [res.headers['x-tollgate-request-id']]);
    expect(row).toMatchObject({ endpoint: 'chat.stream', stream: true, status_code: 200, usage_source: 'reported', model: 'gpt-4o-mini' });
    expect(row!['tokens_completion']).toBeGreaterThan(0);
    expect(row!['cost_usd']).toBeGreaterThan(0);
  });

  it('chat/stream rejects bad input with 400', async () => {
    for (const body of [{}, { messages: [] }, { messages: [{ role: 'wizard', content: 'x' }] }, { messages: 'hi' }]) {
      const res = await api().post('/api/chat/stream').send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.type).toBe('invalid_request_error');
    }
  });
});

/**
 * A misbehaving upstream. A chat stream gets two content chunks and then, by the last message,
 * silence ('silent') or a dropped connection ('cut'). A persona generation (not streamed) gets,
 * by `leadData.mode`, a 200 without choices ('no-choices') or a 200 whose JSON is cut ('bad-json').
 */
function stallingUpstream(): Promise<LocalUpstream> {
  const chunk = (content: string) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-stall', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { role: 'assistant', content }, logprobs: null, finish_reason: null }], usage: null })}\n\n`;
  return startLocalUpstream((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as { stream?: boolean; messages: Array<{ content: string }> };
      if (!body.stream) {
        const mode = (JSON.parse(body.messages.at(-1)!.content) as { leadData: { mode: string } }).leadData.mode;
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(mode === 'no-choices' ? JSON.stringify({ id: 'chatcmpl-odd', object: 'chat.completion', created: 1, model: 'gpt-4o-mini' }) : '{"id": "chatcmpl-odd", "choi');
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_stall' });
      res.write(chunk('The first forty characters of an answer '));
      res.write(chunk('and forty more before the upstream stops.'));
      if (body.messages.at(-1)!.content === 'cut') setTimeout(() => res.socket?.destroy(), 30);
    });
  });
}

/** The row of one request, waiting for it: a request the client left is logged after it left. */
async function rowOf(stack: Stack, requestId: string): Promise<Record<string, unknown>> {
  const [row] = await loggedRowsWhenThere(stack, 'request_id = $1', [requestId]);
  if (!row) throw new Error(`no row for ${requestId}`);
  return row;
}

const lastEvent = (text: string) => text.split('\n\n').filter(Boolean).at(-1)!;

describe('chat/stream: an upstream that stalls or is cut', () => {
  const messages = (last: string) => [{ role: 'user', content: 'Tell me a story about a cache that never forgets.' }, { role: 'user', content: last }];

  describe('idle timeout on the fake upstream (one chunk a second, UPSTREAM_TIMEOUT_MS=300)', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ OPENAI_API_KEY: 'sk-slow', UPSTREAM_TIMEOUT_MS: '300' }, { chunkDelayMs: 1000 });
    });
    afterAll(() => stack.close());

    it('ends with an upstream_timeout error event within the timeout, logged with estimated usage', async () => {
      const started = Date.now();
      const res = await request(stack.app).post('/api/chat/stream').send({ messages: messages('go on') }).expect(200);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(JSON.parse(lastEvent(res.text).slice('data: '.length))).toEqual({
        error: { message: expect.any(String), type: 'timeout_error', param: null, code: 'upstream_timeout' },
      });
      const row = await rowOf(stack, res.headers['x-tollgate-request-id']!);
      expect(row).toMatchObject({ endpoint: 'chat.stream', status_code: 200, usage_source: 'estimated', error_type: 'upstream_timeout', client_aborted: false });
      expect(row['tokens_prompt']).toBeGreaterThan(0);
      expect(row['tokens_completion']).toBe(0); // the one chunk sent carried no text
    });
  });

  describe('a stalling or cut upstream', () => {
    let upstream: Awaited<ReturnType<typeof stallingUpstream>>;
    let stack: Stack;
    beforeAll(async () => {
      upstream = await stallingUpstream();
      stack = await startStack({ OPENAI_API_KEY: 'sk-stall', UPSTREAM_TIMEOUT_MS: '400', UPSTREAM_BASE_URL: upstream.url });
    });
    afterAll(async () => {
      await stack.close();
      await upstream.close();
    });
    // The prompt's text is both messages (≈ 49 + 5 chars); the relayed text is 81 characters (≈ 21 tokens).
    const relayedTokens = Math.ceil('The first forty characters of an answer and forty more before the upstream stops.'.length / 4);

    it('silent after two chunks: ends after UPSTREAM_TIMEOUT_MS with upstream_timeout, completion tokens from the relayed text', async () => {
      const started = Date.now();
      const res = await request(stack.app).post('/api/chat/stream').send({ messages: messages('silent') }).expect(200);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(res.text).toContain('and forty more');
      expect(lastEvent(res.text)).toContain('"code":"upstream_timeout"');
      const row = await rowOf(stack, res.headers['x-tollgate-request-id']!);
      expect(row).toMatchObject({ status_code: 200, usage_source: 'estimated', error_type: 'upstream_timeout', tokens_completion: relayedTokens });
      expect(row['tokens_prompt']).toBeGreaterThan(10);
      expect(row['cost_usd']).toBeGreaterThan(0);
    });

    it('cut after two chunks: ends with an upstream_interrupted error event, estimated usage', async () => {
      const res = await request(stack.app).post('/api/chat/stream').send({ messages: messages('cut') }).expect(200);
      expect(JSON.parse(lastEvent(res.text).slice('data: '.length))).toEqual({
        error: { message: 'The upstream stream was interrupted.', type: 'server_error', param: null, code: 'upstream_interrupted' },
      });
      const row = await rowOf(stack, res.headers['x-tollgate-request-id']!);
      expect(row).toMatchObject({ status_code: 200, usage_source: 'estimated', error_type: 'upstream_interrupted', tokens_completion: relayedTokens });
      expect(row['tokens_prompt']).toBeGreaterThan(10);
    });

    it.each([
      ['no-choices', 'The upstream API returned a response without choices.'],
      ['bad-json', 'The upstream API returned a response that could not be read.'],
    ])('personas: a 200 from upstream that is unusable (%s) is a 502 that names the problem, not our internals', async (mode, message) => {
      const res = await request(stack.app)
        .post('/api/personas/generate')
        .send({ email: 'rep@example.com', leadData: { mode }, config: { numPersonas: 2 } })
        .expect(502);
      expect(res.body).toEqual({ error: { message, type: 'server_error', param: null, code: 'invalid_upstream_output' } });
      expect(res.text).not.toMatch(/Cannot read|undefined|Unexpected|position|SyntaxError|TypeError/);
      const row = await rowOf(stack, res.headers['x-tollgate-request-id']!);
      expect(row).toMatchObject({ status_code: 502, error_type: 'invalid_upstream_output' });
    });

    it('a client that leaves mid-stream: client_aborted, estimated usage', async () => {
      const ac = new AbortController();
      const res = await fetch(`${stack.proxyUrl.replace(/\/v1$/, '')}/api/chat/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: messages('silent') }),
        signal: ac.signal,
      });
      const reader = res.body!.getReader();
      let seen = '';
      while (!seen.includes('and forty more')) seen += new TextDecoder().decode((await reader.read()).value);
      ac.abort();
      const row = await rowOf(stack, res.headers.get('x-tollgate-request-id')!);
      expect(row).toMatchObject({ status_code: 200, usage_source: 'estimated', error_type: 'client_aborted', client_aborted: true, tokens_completion: relayedTokens });
    });
  });
});

describe('toProxyError', () => {
  it('never passes on the message of an error that is not the API\'s', () => {
    expect(toProxyError(new TypeError("Cannot read properties of undefined (reading '0')")).body()).toEqual({
      error: { message: 'The request failed inside Tollgate; it has been logged.', type: 'server_error', param: null, code: 'internal_error' },
    });
  });
});
