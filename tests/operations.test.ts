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

  it('caller-chosen paths and model names cannot grow the metrics without bound', async () => {
    for (let i = 0; i < 200; i++) {
      const r = await httpRequest(`${stack.proxyUrl}/junk${i}/x`, {
        method: 'POST',
        body: JSON.stringify({ model: `made-up-${i}` }),
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-cardinality' },
      });
      await r.body.dump();
    }
    const text = await (await httpRequest(`${base}/metrics`)).body.text();
    const series = text.split('\n').filter((l) => l.startsWith('tollgate_requests_total{'));
    expect(series.length).toBeLessThan(200);
    expect(text).toContain('endpoint="other"');
    // Junk sent first cannot push OpenAI's endpoints or priced models out of their labels.
    const client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-cardinality', maxRetries: 0 });
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'still named' });
    const after = await (await httpRequest(`${base}/metrics`)).body.text();
    expect(after).toMatch(/tollgate_requests_total\{endpoint="embeddings",model="text-embedding-3-small",cache_status="bypass",status="200"\} \d+/);
  });

  it('an unknown /api route is a 404 of ours, never forwarded upstream; a bad gzip body a clear 400', async () => {
    const before = stack.mock.total();
    const r = await httpRequest(`${base}/api/nothing`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-api-404' } });
    expect(r.statusCode).toBe(404);
    expect(await r.body.json()).toMatchObject({ error: { code: 'unknown_route' } });
    expect(stack.mock.total()).toBe(before);
    const g = await httpRequest(`${base}/api/personas/generate`, {
      method: 'POST',
      body: 'not gzip at all',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: 'Bearer sk-api-gz' },
    });
    expect(g.statusCode).toBe(400);
    expect(await g.body.json()).toMatchObject({ error: { code: 'invalid_content_encoding' } });
  });

  it('a request refused by an /api body parser still gets its row and request id', async () => {
    const r = await httpRequest(`${base}/api/personas/generate`, { method: 'POST', body: '{', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-api-400' } });
    expect(r.statusCode).toBe(400);
    await r.body.dump();
    const id = r.headers['x-tollgate-request-id'] as string;
    expect(id).toBeTruthy();
    await stack.deps.callLog.flush();
    const { rows } = await stack.pool.query('SELECT endpoint, status_code, error_type FROM openai_call_log WHERE request_id = $1', [id]);
    expect(rows).toEqual([{ endpoint: 'personas.generate', status_code: 400, error_type: 'invalid_json' }]);
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

  it('reads an empty variable as unset, and refuses an unknown cache endpoint', () => {
    expect(loadConfig({ PORT: '', LOG_LEVEL: ' ' }).PORT).toBe(8080);
    expect(() => loadConfig({ RESPONSE_CACHE_ENDPOINTS: 'chat.completion' })).toThrow(/RESPONSE_CACHE_ENDPOINTS="chat.completion"/);
    expect(loadConfig({ RESPONSE_CACHE_ENDPOINTS: 'chat.completions, embeddings' }).RESPONSE_CACHE_ENDPOINTS).toEqual(['chat.completions', 'embeddings']);
  });

  it('refuses timers Node cannot hold, lifetimes past the timestamp range, and URLs of the wrong kind', () => {
    const bad: Array<[string, string]> = [
      ['UPSTREAM_TIMEOUT_MS', '99999999999'],
      ['CACHE_CLEANUP_INTERVAL_MS', '3000000000'],
      ['SHUTDOWN_GRACE_MS', '2147483648'],
      ['IDEMPOTENCY_TTL_SECONDS', '1000000000000000'],
      ['UPSTREAM_BASE_URL', 'ftp://example.com/v1'],
      ['DATABASE_URL', 'mysql://root@localhost/test'],
    ];
    for (const [name, value] of bad) {
      expect(() => loadConfig({ [name]: value })).toThrow(`${name}=${JSON.stringify(value)}`);
    }
    expect(loadConfig({ UPSTREAM_TIMEOUT_MS: '2147483647', DATABASE_URL: 'postgresql://u@h/db' }).UPSTREAM_TIMEOUT_MS).toBe(2_147_483_647);
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

describe('with METRICS_ENABLED=false', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ METRICS_ENABLED: 'false' });
  });
  afterAll(() => stack.close());

  it('/metrics is a 404 of ours: a scrape is neither forwarded upstream nor logged as a call', async () => {
    const before = stack.mock.total();
    const r = await httpRequest(`${stack.proxyUrl.replace(/\/v1$/, '')}/metrics`);
    expect(r.statusCode).toBe(404);
    expect(await r.body.json()).toMatchObject({ error: { code: 'metrics_disabled' } });
    expect(stack.mock.total()).toBe(before);
  });
});
