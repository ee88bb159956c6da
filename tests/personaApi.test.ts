import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { loggedRows, startStack, type Stack } from './support/stack.js';

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
    expect(m).toMatchObject({ endpoint: 'personas.generate', cache_status: 'miss', status_code: 200, usage_source: 'reported' });
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
