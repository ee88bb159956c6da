import OpenAI from 'openai';
import { request as httpRequest } from 'undici';
import { loadConfig, ConfigError } from '../proxy/src/config.js';
import { startStack, type Stack } from './support/stack.js';

describe('operations endpoints', () => {
  let stack: Stack;
  let base: string;
  beforeAll(async () => {
    stack = await startStack();
    base = stack.proxyUrl.replace(/\/v1$/, '');
  });
  afterAll(() => stack.close());

  it('/healthz and /readyz answer; /readyz reports the database', async () => {
    const h = await httpRequest(`${base}/healthz`);
    expect(h.statusCode).toBe(200);
    expect(await h.body.json()).toEqual({ status: 'ok' });
    const r = await httpRequest(`${base}/readyz`);
    expect(r.statusCode).toBe(200);
    expect(await r.body.json()).toMatchObject({ status: 'ready', database: 'ok' });
  });

  it('/metrics counts requests, tokens, cost and overhead after a call', async () => {
    const client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-metrics', maxRetries: 0 });
    const c = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count me' }] });
    const res = await httpRequest(`${base}/metrics`);
    const text = await res.body.text();
    expect(text).toContain('tollgate_requests_total{endpoint="chat.completions",model="gpt-4o-mini",cache_status="bypass",status="200"} 1');
    expect(text).toContain(`tollgate_tokens_total{endpoint="chat.completions",model="gpt-4o-mini",kind="prompt"} ${c.usage!.prompt_tokens}`);
    expect(text).toMatch(/tollgate_cost_usd_total\{endpoint="chat.completions",model="gpt-4o-mini"\} [0-9.e-]+/);
    expect(text).toMatch(/tollgate_proxy_overhead_seconds_count \d+/);
    expect(text).toMatch(/tollgate_upstream_duration_seconds_count\{endpoint="chat.completions",stream="false"\} 1/);
  });

  it('a client that goes away mid-stream makes the proxy close the upstream stream', async () => {
    const controller = new AbortController();
    const client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-abort-upstream', maxRetries: 0 });
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'long one' }], stream: true },
      { headers: { 'x-mock-chunk-delay-ms': '200' }, signal: controller.signal },
    );
    try {
      for await (const _ of stream) {
        expect(stack.mock.openStreams()).toBe(1);
        controller.abort();
      }
    } catch {
      // aborted on purpose
    }
    let open = stack.mock.openStreams();
    for (let i = 0; i < 40 && open > 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      open = stack.mock.openStreams();
    }
    expect(open).toBe(0);
  });
});

describe('configuration', () => {
  it('has sane defaults', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(8080);
    expect(c.UPSTREAM_BASE_URL).toBe('https://api.openai.com/v1');
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.IDEMPOTENCY_TTL_SECONDS).toBe(86_400);
  });

  it('names every bad variable in one error', () => {
    expect(() => loadConfig({ PORT: '99999', UPSTREAM_BASE_URL: 'not a url', LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: '99999', UPSTREAM_BASE_URL: 'not a url', LOG_LEVEL: 'loud' });
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toContain('PORT="99999"');
      expect(msg).toContain('UPSTREAM_BASE_URL="not a url"');
      expect(msg).toContain('LOG_LEVEL="loud"');
    }
  });
});
