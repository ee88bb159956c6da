import OpenAI from 'openai';
import { request as httpRequest } from 'undici';
import { loggedRows, loggedRowsWhenThere, startStack, type Stack } from './support/stack.js';

const KEY = 'sk-passthrough-test';

describe('passthrough: the openai SDK through the proxy equals calling the fake upstream directly', () => {
  let stack: Stack;
  let viaProxy: OpenAI;
  let direct: OpenAI;

  beforeAll(async () => {
    stack = await startStack();
    viaProxy = new OpenAI({ baseURL: stack.proxyUrl, apiKey: KEY, maxRetries: 0 });
    direct = new OpenAI({ baseURL: stack.mock.url, apiKey: KEY, maxRetries: 0 });
  });
  afterAll(() => stack.close());

  async function rowFor(response: Response) {
    const rows = await loggedRows(stack, 'request_id = $1', [response.headers.get('x-tollgate-request-id')]);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  it('chat completions (JSON): same body, exact tokens and cost logged', async () => {
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Say hello to the proxy' }] };
    const a = await viaProxy.chat.completions.create(params).withResponse();
    const b = await direct.chat.completions.create(params);
    expect(a.data).toEqual(b);
    expect(a.response.headers.get('x-tollgate-request-id')).toBeTruthy();
    const row = await rowFor(a.response);
    expect(row).toMatchObject({
      endpoint: 'chat.completions',
      model: 'gpt-4o-mini',
      tokens_prompt: b.usage!.prompt_tokens,
      tokens_completion: b.usage!.completion_tokens,
      cache_status: 'bypass',
      usage_source: 'reported',
      status_code: 200,
      stream: false,
    });
    const expected = (b.usage!.prompt_tokens * 0.15 + b.usage!.completion_tokens * 0.6) / 1e6;
    expect(Number(row['cost_usd'])).toBeCloseTo(expected, 10);
    expect(row['tenant']).toMatch(/^t_[0-9a-f]{24}$/);
    expect(JSON.stringify(row)).not.toContain(KEY);
  });

  it('chat completions (stream) without include_usage: same chunks as upstream, no extra chunk, usage still logged', async () => {
    const params = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Stream me a sentence please' }], stream: true as const };
    const proxied = await viaProxy.chat.completions.create(params).withResponse();
    const got: unknown[] = [];
    for await (const chunk of proxied.data) got.push(chunk);
    const want: unknown[] = [];
    for await (const chunk of await direct.chat.completions.create(params)) want.push(chunk);
    expect(got).toEqual(want);
    expect(got.every((c) => !('usage' in (c as object)))).toBe(true);
    const row = await rowFor(proxied.response);
    expect(row).toMatchObject({ endpoint: 'chat.completions', stream: true, usage_source: 'reported' });
    expect(row['tokens_prompt']).toBeGreaterThan(0);
    expect(row['tokens_completion']).toBeGreaterThan(0);
  });

  it('chat completions (stream) with include_usage: the usage chunk reaches the caller and matches the row', async () => {
    const params = {
      model: 'gpt-4o',
      messages: [{ role: 'user' as const, content: 'Count to three' }],
      stream: true as const,
      stream_options: { include_usage: true },
    };
    const proxied = await viaProxy.chat.completions.create(params).withResponse();
    const got: Array<{ usage?: { prompt_tokens: number; completion_tokens: number } | null }> = [];
    for await (const chunk of proxied.data) got.push(chunk);
    const usage = got.at(-1)!.usage!;
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    const row = await rowFor(proxied.response);
    expect(row['tokens_prompt']).toBe(usage.prompt_tokens);
    expect(row['tokens_completion']).toBe(usage.completion_tokens);
  });

  it('responses API, JSON and stream: same result, usage from response.completed', async () => {
    const params = { model: 'gpt-4.1-mini', input: 'Write one line about tolls' };
    const a = await viaProxy.responses.create(params).withResponse();
    const b = await direct.responses.create(params);
    expect(a.data).toEqual(b);
    const row = await rowFor(a.response);
    expect(row).toMatchObject({ endpoint: 'responses', tokens_prompt: b.usage!.input_tokens, tokens_completion: b.usage!.output_tokens });

    const s = await viaProxy.responses.create({ ...params, stream: true }).withResponse();
    const events: Array<{ type: string }> = [];
    for await (const e of s.data) events.push(e);
    expect(events.at(-1)!.type).toBe('response.completed');
    const srow = await rowFor(s.response);
    expect(srow).toMatchObject({ endpoint: 'responses', stream: true, usage_source: 'reported', tokens_prompt: b.usage!.input_tokens });
  });

  it('embeddings (base64 on the wire, as the SDK sends them) and images', async () => {
    const e1 = await viaProxy.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] }).withResponse();
    const e2 = await direct.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
    expect(e1.data).toEqual(e2);
    const erow = await rowFor(e1.response);
    expect(erow).toMatchObject({ endpoint: 'embeddings', tokens_prompt: e2.usage.prompt_tokens, tokens_completion: 0 });
    expect(Number(erow['cost_usd'])).toBeCloseTo((e2.usage.prompt_tokens * 0.02) / 1e6, 12);

    const i1 = await viaProxy.images.generate({ model: 'dall-e-3', prompt: 'a toll gate', n: 1, size: '1024x1024' }).withResponse();
    const i2 = await direct.images.generate({ model: 'dall-e-3', prompt: 'a toll gate', n: 1, size: '1024x1024' });
    expect(i1.data).toEqual(i2);
    const irow = await rowFor(i1.response);
    expect(irow).toMatchObject({ endpoint: 'images.generations', model: 'dall-e-3' });
    expect(Number(irow['cost_usd'])).toBeCloseTo(0.04, 10);
  });

  it('models list passes through', async () => {
    const a = await viaProxy.models.list();
    const b = await direct.models.list();
    expect(a.data).toEqual(b.data);
  });

  it('an unknown model logs cost NULL, never 0', async () => {
    const r = await viaProxy.chat.completions.create({ model: 'my-finetune-xyz', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    const row = await rowFor(r.response);
    expect(row['cost_usd']).toBeNull();
    expect(row['tokens_prompt']).toBeGreaterThan(0);
  });
});

describe('passthrough: streaming timing and aborts', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('chunks spaced 200 ms upstream arrive spaced, not together', async () => {
    const client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: KEY, maxRetries: 0 });
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'slow stream' }], stream: true },
      { headers: { 'x-mock-chunk-delay-ms': '200' } },
    );
    const arrivals: number[] = [];
    for await (const _ of stream) arrivals.push(performance.now());
    expect(arrivals.length).toBeGreaterThanOrEqual(4);
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    // Buffering would deliver everything at the end, with gaps near 0.
    const spaced = gaps.filter((g) => g >= 120);
    expect(spaced.length).toBeGreaterThanOrEqual(gaps.length - 1);
  });

  it('a client that disconnects mid-stream aborts upstream and its partial call is logged with estimated usage', async () => {
    const controller = new AbortController();
    const client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: KEY, maxRetries: 0 });
    const response = await client.chat.completions
      .create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'abort me' }], stream: true },
        { headers: { 'x-mock-chunk-delay-ms': '100' }, signal: controller.signal },
      )
      .withResponse();
    const requestId = response.response.headers.get('x-tollgate-request-id');
    let n = 0;
    try {
      for await (const _ of response.data) {
        if (++n === 2) controller.abort();
      }
    } catch {
      // The SDK may end the iteration or throw on abort; either way the client is gone.
    }
    expect(n).toBe(2);
    const rows = await loggedRowsWhenThere(stack, 'request_id = $1', [requestId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ client_aborted: true, usage_source: 'estimated', stream: true });
    expect(rows[0]!['tokens_prompt']).toBeGreaterThan(0);
    // Two content chunks reached the caller: they count, estimated from their text.
    expect(rows[0]!['tokens_completion']).toBeGreaterThan(0);
    expect(Number(rows[0]!['cost_usd'])).toBeGreaterThan(0);
  });
});

describe('passthrough: errors', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ UPSTREAM_TIMEOUT_MS: '500', BODY_LIMIT_BYTES: '2048', OPENAI_API_KEY: 'sk-proxy-default' });
  });
  afterAll(() => stack.close());

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    httpRequest(`${stack.proxyUrl}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    });

  it('bad JSON and a missing model are 400s in OpenAI shape, and the process stays up', async () => {
    const bad = await post('/chat/completions', '{"model": "gpt-4o",');
    expect(bad.statusCode).toBe(400);
    expect(await bad.body.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json', param: null } });
    const noModel = await post('/chat/completions', JSON.stringify({ messages: [] }));
    expect(noModel.statusCode).toBe(400);
    expect(await noModel.body.json()).toMatchObject({ error: { param: 'model', type: 'invalid_request_error' } });
    const notObject = await post('/chat/completions', '[1,2]');
    expect(notObject.statusCode).toBe(400);
    await notObject.body.dump();
    const health = await httpRequest(stack.proxyUrl.replace('/v1', '/healthz'));
    expect(health.statusCode).toBe(200);
    await health.body.dump();
  });

  it('a body over the limit is a 413', async () => {
    const big = await post('/chat/completions', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(5000) }] }));
    expect(big.statusCode).toBe(413);
    expect(await big.body.json()).toMatchObject({ error: { code: 'request_too_large' } });
  });

  it('upstream errors pass through unchanged (429 with retry-after, 401, 500)', async () => {
    for (const status of [429, 401, 500]) {
      const viaProxy = await post('/chat/completions', JSON.stringify({ model: 'gpt-4o', messages: [] }), { 'x-mock-error': String(status) });
      const direct = await httpRequest(`${stack.mock.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-mock-error': String(status) },
      });
      expect(viaProxy.statusCode).toBe(status);
      expect(await viaProxy.body.text()).toBe(await direct.body.text());
      if (status === 429) expect(viaProxy.headers['retry-after']).toBe(direct.headers['retry-after']);
    }
  });

  it('without an Authorization header the proxy uses OPENAI_API_KEY', async () => {
    const res = await httpRequest(`${stack.proxyUrl}/models`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });

  it('an upstream that does not answer in time is a 504; an unreachable one a 502', async () => {
    const slow = await post('/chat/completions', JSON.stringify({ model: 'gpt-4o', messages: [] }), { 'x-mock-latency-ms': '3000' });
    expect(slow.statusCode).toBe(504);
    expect(await slow.body.json()).toMatchObject({ error: { code: 'upstream_timeout' } });

    const down = await startStack({ UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1' });
    try {
      const res = await httpRequest(`${down.proxyUrl}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      });
      expect(res.statusCode).toBe(502);
      expect(await res.body.json()).toMatchObject({ error: { code: 'upstream_unreachable', type: 'server_error' } });
      const rows = await loggedRows(down, `status_code = 502 AND error_type = 'upstream_unreachable'`, []);
      expect(rows.length).toBeGreaterThanOrEqual(1);
    } finally {
      await down.close();
    }
  });
});
