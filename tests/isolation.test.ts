import { randomUUID } from 'node:crypto';
import { cleanupExpired } from '../proxy/src/cache/cleanup.js';
import { tenantOf } from '../proxy/src/tenant.js';
import { startStack, type Stack } from './support/stack.js';

const CHAT = '/v1/chat/completions';

async function post(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

const payload = (tag: string) => ({
  email: 'same@example.com',
  leadData: { segment: tag, region: 'EMEA' },
  config: { numPersonas: 3 },
});

describe('tenant isolation', () => {
  let stack: Stack;
  let base: string;
  beforeAll(async () => {
    stack = await startStack({ OPENAI_API_KEY: 'sk-isolation' }, { latencyMs: 200 });
    base = stack.proxyUrl.replace(/\/v1$/, '');
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.mock.reset());

  it('two API keys sending the same persona request each reach upstream once', async () => {
    const body = payload(`iso-${randomUUID()}`);
    const alice = { authorization: `Bearer sk-alice-${randomUUID()}` };
    const bob = { authorization: `Bearer sk-bob-${randomUUID()}` };
    // Concurrently: coalescing must not join them either.
    const [a1, b1] = await Promise.all([post(base, '/api/personas/generate', body, alice), post(base, '/api/personas/generate', body, bob)]);
    expect([a1.json.fromCache, b1.json.fromCache]).toEqual([false, false]);
    expect(stack.mock.total(CHAT)).toBe(2);
    // Then each hits only its own entries (dedup and persona cache).
    const [a2, b2] = await Promise.all([post(base, '/api/personas/generate', body, alice), post(base, '/api/personas/generate', body, bob)]);
    expect([a2.json.fromCache, b2.json.fromCache]).toEqual([true, true]);
    const other = { ...body, email: 'someone.else@example.com' };
    const [a3, b3] = await Promise.all([post(base, '/api/personas/generate', other, alice), post(base, '/api/personas/generate', other, bob)]);
    expect([a3.json.fromCache, b3.json.fromCache]).toEqual([true, true]);
    expect([a3.json.fromIdempotentCache, b3.json.fromIdempotentCache]).toEqual([false, false]);
    expect(stack.mock.total(CHAT)).toBe(2);
    const tenants = [tenantOf(alice.authorization.slice(7)), tenantOf(bob.authorization.slice(7))];
    const { rows } = await stack.pool.query(`SELECT tenant FROM persona_cache WHERE tenant = ANY($1) ORDER BY tenant`, [tenants]);
    expect(rows.map((r) => r.tenant)).toEqual([...tenants].sort());
  });

  it('the same Idempotency-Key under two API keys are two different keys', async () => {
    const key = randomUUID();
    const a = await post(base, '/api/personas/generate', payload(`k-a-${randomUUID()}`), { authorization: 'Bearer sk-tenant-a', 'idempotency-key': key });
    const b = await post(base, '/api/personas/generate', payload(`k-b-${randomUUID()}`), { authorization: 'Bearer sk-tenant-b', 'idempotency-key': key });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(stack.mock.total(CHAT)).toBe(2);
  });
});

describe('expiry', () => {
  let stack: Stack;
  let base: string;
  beforeAll(async () => {
    stack = await startStack({ OPENAI_API_KEY: 'sk-expiry', PERSONA_CACHE_TTL_SECONDS: '1', PERSONA_DEDUP_WINDOW_SECONDS: '1' });
    base = stack.proxyUrl.replace(/\/v1$/, '');
  });
  afterAll(() => stack.close());

  it('an expired persona entry and dedup window lead to a new generation, and cleanup deletes expired rows', async () => {
    stack.mock.reset();
    const body = payload(`exp-${randomUUID()}`);
    const auth = { authorization: `Bearer sk-exp-${randomUUID()}` };
    expect((await post(base, '/api/personas/generate', body, auth)).json.fromCache).toBe(false);
    const cached = await post(base, '/api/personas/generate', body, auth);
    expect(cached.json).toMatchObject({ fromCache: true, fromIdempotentCache: true });
    await new Promise((r) => setTimeout(r, 1200));
    expect((await post(base, '/api/personas/generate', body, auth)).json.fromCache).toBe(false);
    expect(stack.mock.total(CHAT)).toBe(2);
    await new Promise((r) => setTimeout(r, 1200));
    const removed = await cleanupExpired(stack.pool);
    expect(removed.personaCache).toBeGreaterThanOrEqual(1);
    expect(removed.requestLog).toBeGreaterThanOrEqual(1);
    // The expired dedup row stays as history, without its stored response.
    const kept = await stack.pool.query(
      `SELECT count(*)::int AS n FROM request_log WHERE expires_at <= now() AND endpoint = 'personas.generate' AND response_json IS NOT NULL`,
    );
    expect(kept.rows[0].n).toBe(0);
    const history = await stack.pool.query(`SELECT count(*)::int AS n FROM request_log WHERE expires_at <= now() AND endpoint = 'personas.generate'`);
    expect(history.rows[0].n).toBeGreaterThanOrEqual(1);
    const { rows } = await stack.pool.query(`SELECT count(*)::int AS n FROM persona_cache WHERE expires_at <= now()`);
    expect(rows[0].n).toBe(0);
  });
});
