import { request as httpRequest, type IncomingMessage } from 'node:http';
import OpenAI from 'openai';
import { request } from 'undici';
import { startLocalUpstream, type LocalUpstream } from './support/localUpstream.js';
import { loggedRowsWhenThere, startStack, type Stack } from './support/stack.js';

const chunk = (content: string, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content }, finish_reason: null }], ...extra })}\n\n`;
const finish = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } })}\n\n`;

/** POSTs a streamed chat completion and hangs up the moment `data: [DONE]` arrives, as SDKs that stop at [DONE] do. */
function streamUntilDone(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ requestId: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-done', ...headers } }, (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        if (text.includes('data: [DONE]')) {
          req.destroy();
          resolve({ requestId: String(res.headers['x-tollgate-request-id']), text });
        }
      });
      res.on('error', () => undefined);
      res.on('end', () => reject(new Error(`stream ended without [DONE]: ${text}`)));
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify(body));
  });
}

describe('a chat stream whose caller received [DONE] is a completed call', () => {
  let upstream: LocalUpstream;
  let stack: Stack;
  beforeAll(async () => {
    // Upstream sends the whole stream, then keeps the body open a while before ending it.
    upstream = await startLocalUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('Hello') + chunk(' there') + finish + usageChunk + 'data: [DONE]\n\n');
      setTimeout(() => res.end(), 400);
    });
    stack = await startStack({ UPSTREAM_BASE_URL: upstream.url });
  });
  afterAll(async () => {
    await stack.close();
    await upstream.close();
  });

  it.each<[string, Record<string, string>]>([
    ['plain', {}],
    ['with an Idempotency-Key', { 'idempotency-key': 'done-key-1' }],
    ['with the cache on', { 'x-tollgate-cache': 'on' }],
  ])('%s: callers that hang up at [DONE] are logged complete, with usage', async (_name, headers) => {
    const body = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `done ${JSON.stringify(headers)}` }] };
    const calls = await Promise.all(Array.from({ length: 4 }, (_, i) => streamUntilDone(stack.proxyUrl, { ...body, user: `u${i}` }, headers['idempotency-key'] ? { 'idempotency-key': `${headers['idempotency-key']}-${i}` } : headers)));
    for (const call of calls) {
      expect(call.text).toContain('Hello');
      const [row] = await loggedRowsWhenThere(stack, 'request_id = $1', [call.requestId]);
      expect(row).toMatchObject({ status_code: 200, client_aborted: false, error_type: null, usage_source: 'reported', tokens_prompt: 7, tokens_completion: 2 });
    }
  });

  it('a caller that hangs up before [DONE] is still logged client_aborted', async () => {
    const slow = await startLocalUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('Hello'));
      setTimeout(() => res.end(finish + 'data: [DONE]\n\n'), 1500);
    });
    const s = await startStack({ UPSTREAM_BASE_URL: slow.url });
    try {
      const id = await new Promise<string>((resolve) => {
        const req = httpRequest(`${s.proxyUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve(String(res.headers['x-tollgate-request-id']));
          });
        });
        req.on('error', () => undefined);
        req.end(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'leave early' }] }));
      });
      const [row] = await loggedRowsWhenThere(s, 'request_id = $1', [id]);
      expect(row).toMatchObject({ client_aborted: true, error_type: 'client_aborted' });
    } finally {
      await s.close();
      await slow.close();
    }
  });
});

describe('concurrent identical cache-enabled streams against a 429', () => {
  let upstream: LocalUpstream;
  let stack: Stack;
  let calls = 0;
  beforeAll(async () => {
    upstream = await startLocalUpstream((req, res) => {
      calls++;
      req.resume();
      // Slow enough that every duplicate joins the first one's flight.
      setTimeout(() => {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
        res.end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } }));
      }, 300);
    });
    stack = await startStack({ UPSTREAM_BASE_URL: upstream.url });
  });
  afterAll(async () => {
    await stack.close();
    await upstream.close();
  });

  it('every waiter gets the owner\'s 429 with Retry-After, as the owner did, and is logged 429', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'rate limited together' }] });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        request(`${stack.proxyUrl}/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-429', 'x-tollgate-cache': 'on' } }),
      ),
    );
    expect(calls).toBe(1);
    for (const a of answers) {
      const text = await a.body.text();
      expect(a.statusCode).toBe(429);
      expect(a.headers['retry-after']).toBe('7');
      expect(String(a.headers['content-type'])).toContain('application/json');
      expect(JSON.parse(text).error.code).toBe('rate_limit_exceeded');
      const [row] = await loggedRowsWhenThere(stack, 'request_id = $1', [a.headers['x-tollgate-request-id']]);
      expect(row).toMatchObject({ status_code: 429 });
    }
  });
});

describe('nothing a caller sends reaches a 500', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({}, { latencyMs: 1 });
  });
  afterAll(() => stack.close());
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"deep"}],"metadata":{"x":${deep(20_000)}}}`;

  it.each([
    ['the cache on', { 'x-tollgate-cache': 'on' }],
    ['an Idempotency-Key', { 'idempotency-key': 'deep-1' }],
  ])('a JSON body nested 20,000 deep with %s is a 400', async (_name, headers) => {
    const r = await request(`${stack.proxyUrl}/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-deep', ...headers } });
    const answer = (await r.body.json()) as { error: { type: string; code: string } };
    expect(r.statusCode).toBe(400);
    expect(answer.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    const [row] = await loggedRowsWhenThere(stack, 'request_id = $1', [r.headers['x-tollgate-request-id']]);
    expect(row).toMatchObject({ status_code: 400 });
  });

  it('so is a persona request with an Idempotency-Key whose leadData nests that deep', async () => {
    const persona = `{"email":"a@b.c","leadData":{"x":${deep(20_000)}},"config":{"numPersonas":1}}`;
    const r = await request(`${stack.proxyUrl.replace(/\/v1$/, '')}/api/personas/generate`, {
      method: 'POST',
      body: persona,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-deep', 'idempotency-key': 'deep-persona' },
    });
    await r.body.dump();
    expect(r.statusCode).toBeGreaterThanOrEqual(400);
    expect(r.statusCode).toBeLessThan(500);
  });
});

describe('/api/personas/generate against a stalled upstream', () => {
  let upstream: LocalUpstream;
  let stack: Stack;
  let closedByProxy = 0;
  let calls = 0;
  beforeAll(async () => {
    // Headers at once, then a body that never comes.
    upstream = await startLocalUpstream((req, res) => {
      calls++;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":"chatcmpl-stall","object":"chat.completion",');
      res.on('close', () => closedByProxy++);
    });
    stack = await startStack({ UPSTREAM_BASE_URL: upstream.url, UPSTREAM_TIMEOUT_MS: '600', OPENAI_API_KEY: 'sk-stall' });
  });
  afterAll(async () => {
    await stack.close();
    await upstream.close();
  });
  const personas = (tag: string) => ({ email: 'rep@example.com', leadData: { tag }, config: { numPersonas: 1 } });
  const generate = (body: unknown, signal?: AbortSignal) =>
    request(`${stack.proxyUrl.replace(/\/v1$/, '')}/api/personas/generate`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal });

  it('answers 504 once UPSTREAM_TIMEOUT_MS has passed, body included; an identical request after it runs anew', async () => {
    const started = Date.now();
    const first = await generate(personas('timeout'));
    expect(first.statusCode).toBe(504);
    expect(((await first.body.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
    const before = calls;
    const second = await generate(personas('timeout'));
    await second.body.dump();
    expect(second.statusCode).toBe(504);
    expect(calls).toBe(before + 1);
  });

  it('cancels the upstream call when its caller leaves', async () => {
    const closedBefore = closedByProxy;
    const leave = new AbortController();
    const pending = generate(personas('leave'), leave.signal).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 150));
    leave.abort();
    await pending;
    const until = Date.now() + 400;
    while (closedByProxy === closedBefore && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    // Well before UPSTREAM_TIMEOUT_MS (600 ms) would have ended it.
    expect(closedByProxy).toBe(closedBefore + 1);
  });
});

describe('MAX_CONCURRENT_REQUESTS', () => {
  let upstream: LocalUpstream;
  let stack: Stack;
  beforeAll(async () => {
    upstream = await startLocalUpstream((req, res) => {
      req.resume();
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
      }, 600);
    });
    stack = await startStack({ UPSTREAM_BASE_URL: upstream.url, MAX_CONCURRENT_REQUESTS: '2', CONCURRENCY_WAIT_MS: '150' });
  });
  afterAll(async () => {
    await stack.close();
    await upstream.close();
  });

  it('a request over the limit waits a bounded time, then gets a 503 with Retry-After that the SDK retries', async () => {
    const client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-limit', maxRetries: 0 });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'limit' }] };
    const results = await Promise.allSettled([0, 1, 2].map(() => client.chat.completions.create(params).withResponse()));
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(refused).toHaveLength(1);
    const err = refused[0]!.reason as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(503);
    expect(err.code).toBe('proxy_overloaded');
    expect(err.headers?.get('retry-after')).toBe('1');
    expect(err.headers?.get('x-should-retry')).toBe('true');
    const [row] = await loggedRowsWhenThere(stack, 'request_id = $1', [err.headers?.get('x-tollgate-request-id')]);
    expect(row).toMatchObject({ status_code: 503, error_type: 'proxy_overloaded' });
  });
});
