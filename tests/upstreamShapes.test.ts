import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import OpenAI from 'openai';
import { request as httpRequest } from 'undici';
import { tenantOf } from '../proxy/src/tenant.js';
import { startLocalUpstream, type LocalUpstream } from './support/localUpstream.js';
import { loggedRowsWhenThere, startStack, type Stack } from './support/stack.js';

/**
 * Answers our fake upstream does not give but OpenAI (or a network) can: the real API's field
 * order in stream chunks, a success without usage, a response larger than the proxy keeps in
 * memory, and a client that leaves before anything was sent.
 */
const routes: Record<string, (req: IncomingMessage, res: ServerResponse, body: string) => void> = {
  // OpenAI writes `usage` before `obfuscation`: `usage` is not the last member of a chunk.
  'obfuscated-stream': (_req, res, body) => {
    const includeUsage = (JSON.parse(body) as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage === true;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const usageField = includeUsage ? '"usage":null,' : '';
    const chunk = (delta: string, finish: string | null) =>
      `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"${delta}"},"finish_reason":${finish ? `"${finish}"` : 'null'}}],${usageField}"obfuscation":"xyz"}\n\n`;
    res.write(chunk('Hel', null));
    res.write(chunk('lo', 'stop'));
    if (includeUsage) {
      res.write('data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9},"obfuscation":"q"}\n\n');
    }
    res.end('data: [DONE]\n\n');
  },
  'no-usage': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c2', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }));
  },
  // ~17 MB of embeddings: more than the proxy holds to parse; usage comes last, as OpenAI sends it.
  'huge-embeddings': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const vector = `"${'A'.repeat(1 << 20)}"`;
    res.write('{"object":"list","data":[');
    for (let i = 0; i < 17; i++) res.write(`${i ? ',' : ''}{"object":"embedding","index":${i},"embedding":${vector}}`);
    res.end('],"model":"text-embedding-3-large","usage":{"prompt_tokens":19480,"total_tokens":19480}}');
  },
  // Sends a first part, then waits until the test has seen it arrive at the client: a proxy that
  // held the first part back would never let the test open the gate (the test times out).
  'gated-stream': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (content: string, finish: string | null) =>
      `data: {"id":"g1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":${finish ? `"${finish}"` : 'null'}}]}\n\n`;
    res.write(chunk('a stream ends with data: [DONE]', null));
    void gate.then(() => {
      res.write(chunk('.', 'stop'));
      res.write('data: {"id":"g1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":9,"total_tokens":13}}\n\n');
      res.end('data: [DONE]\n\n');
    });
  },
  // The head now, the events only once the test has the head at the client: a proxy that held the
  // head back until the first event would never let the test open the gate.
  'head-first-stream': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    void gate.then(() => {
      res.write('data: {"id":"h1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"late"},"finish_reason":"stop"}]}\n\n');
      res.end('data: [DONE]\n\n');
    });
  },
  // [DONE], then the connection breaks (no proper end of the chunked body).
  'done-then-reset': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"id":"r1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n');
    res.write('data: [DONE]\n\n');
    setTimeout(() => res.socket?.destroy(), 100);
  },
  'gated-json': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"id":"g2","object":"chat.completion","created":1,"model":"gpt-4o-mini",');
    void gate.then(() =>
      res.end('"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}}'),
    );
  },
  slow: (_req, res) => {
    setTimeout(() => {
      if (!res.destroyed) res.end('{}');
    }, 2000);
  },
};

let openGate: () => void = () => undefined;
let gate = new Promise<void>((r) => (openGate = r));
const resetGate = () => (gate = new Promise<void>((r) => (openGate = r)));

/** Reads a response body until `seen` is in it, then opens the upstream's gate and reads the rest. */
async function readThroughGate(body: AsyncIterable<unknown>, seen: string): Promise<string> {
  let text = '';
  let opened = false;
  for await (const chunk of body) {
    text += (chunk as Buffer).toString('utf8');
    if (!opened && text.includes(seen)) {
      opened = true;
      openGate();
    }
  }
  return text;
}

function startShapesUpstream(): Promise<LocalUpstream> {
  return startLocalUpstream((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const route = new URL(req.url ?? '/', 'http://x').searchParams.get('shape') ?? '';
      (routes[route] ?? ((_q, r) => r.writeHead(404).end()))(req, res, body);
    });
  });
}

describe('upstream answers beyond the fake upstream', () => {
  let upstream: LocalUpstream;
  let stack: Stack;
  beforeAll(async () => {
    upstream = await startShapesUpstream();
    stack = await startStack({ UPSTREAM_BASE_URL: upstream.url, OPENAI_API_KEY: 'sk-shapes' });
  });
  afterAll(async () => {
    await stack.close();
    await upstream.close();
  });

  const rowOf = async (requestId: string | null) => {
    const [row] = await loggedRowsWhenThere(stack, 'request_id = $1', [requestId]);
    if (!row) throw new Error(`no row for ${requestId}`);
    return row;
  };

  it('a stream in OpenAI\'s field order reaches a caller without include_usage exactly as without the option', async () => {
    const res = await httpRequest(`${stack.proxyUrl}/chat/completions?shape=obfuscated-stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await res.body.text();
    expect(text).not.toContain('"usage"');
    expect(text).toContain('"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"obfuscation":"xyz"}');
    const row = await rowOf(res.headers['x-tollgate-request-id'] as string);
    expect(row).toMatchObject({ tokens_prompt: 7, tokens_completion: 2, usage_source: 'reported' });
  });

  it('with the cache or a key, a stream still flows: text that reads "data: [DONE]" is not held back', async () => {
    for (const headers of [{ 'x-tollgate-cache': 'on' }, { 'idempotency-key': `gate-${randomUUID()}` }]) {
      resetGate();
      const res = await httpRequest(`${stack.proxyUrl}/chat/completions?shape=gated-stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer sk-gate-${randomUUID()}`, ...headers },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'gate' }] }),
      });
      const text = await readThroughGate(res.body, 'a stream ends with data: [DONE]');
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(text).not.toContain('"usage"');
    }
  });

  it('a stream whose upstream sends its head long before its first event: the caller has the head at once', async () => {
    resetGate();
    const res = await httpRequest(`${stack.proxyUrl}/chat/completions?shape=head-first-stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer sk-head-${randomUUID()}` },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'head' }] }),
    });
    expect([res.statusCode, res.headers['content-type']]).toEqual([200, 'text/event-stream']);
    openGate();
    const text = await res.body.text();
    expect(text).toContain('"content":"late"');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('with the cache on, a stream whose upstream broke after its [DONE] is a complete answer, ended at [DONE]', async () => {
    const reqAuth = `Bearer sk-reset-${randomUUID()}`;
    const reqBody = JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'reset' }] });
    const res = await httpRequest(`${stack.proxyUrl}/chat/completions?shape=done-then-reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: reqAuth, 'x-tollgate-cache': 'on' },
      body: reqBody,
    });
    const text = await res.body.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(text).not.toContain('upstream_interrupted');
    const row = await rowOf(res.headers['x-tollgate-request-id'] as string);
    expect(row).toMatchObject({ status_code: 200, error_type: null, client_aborted: false, cache_status: 'miss' });
    // Complete, so it was cached: the same request again is a hit, ending the same way.
    const again = await httpRequest(`${stack.proxyUrl}/chat/completions?shape=done-then-reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: String(reqAuth), 'x-tollgate-cache': 'on' },
      body: reqBody,
    });
    expect(again.headers['x-tollgate-cache']).toBe('HIT');
    expect((await again.body.text()).endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('with a key, a JSON answer flows as it comes; only its last byte waits for the stored answer', async () => {
    resetGate();
    const key = `gate-json-${randomUUID()}`;
    const apiKey = `sk-gate-json-${randomUUID()}`;
    const res = await httpRequest(`${stack.proxyUrl}/chat/completions?shape=gated-json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, 'idempotency-key': key },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'gate' }] }),
    });
    const text = await readThroughGate(res.body, '"model":"gpt-4o-mini"');
    expect(JSON.parse(text)).toMatchObject({ id: 'g2', usage: { total_tokens: 5 } });
    // Stored before that last byte: the row is already completed when the caller has its answer.
    const { rows } = await stack.pool.query(`SELECT state FROM request_log WHERE tenant = $1`, [tenantOf(apiKey)]);
    expect(rows).toEqual([{ state: 'completed' }]);
  });

  // PGlite is one session: a transaction holding a lock there holds every other query too.
  const withLocks = process.env.TEST_DATABASE_EMBEDDED ? it.skip : it;

  withLocks('a stalled database delays a cached answer\'s last byte by a bounded time, never holds it', async () => {
    const locker = await stack.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE response_cache IN EXCLUSIVE MODE');
      const res = await httpRequest(`${stack.proxyUrl}/chat/completions?shape=no-usage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer sk-stalled-${randomUUID()}`, 'x-tollgate-cache': 'on' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'stalled' }] }),
      });
      // The lock is still held here: the answer arrived without its cache write.
      expect(await res.body.json()).toMatchObject({ id: 'c2' });
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
  });

  it('a success without readable usage is priced unknown (NULL), never 0', async () => {
    const client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-shapes', maxRetries: 0 });
    const r = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { query: { shape: 'no-usage' } })
      .withResponse();
    const row = await rowOf(r.response.headers.get('x-tollgate-request-id'));
    expect(row).toMatchObject({ status_code: 200, usage_source: 'none', cost_usd: null, tokens_prompt: null });
  });

  it('a JSON answer too large to keep still has its usage read from its end', async () => {
    const res = await httpRequest(`${stack.proxyUrl}/embeddings?shape=huge-embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'text-embedding-3-large', input: ['a', 'b'] }),
    });
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    expect(bytes).toBeGreaterThan(17 * (1 << 20));
    const row = await rowOf(res.headers['x-tollgate-request-id'] as string);
    expect(row).toMatchObject({ tokens_prompt: 19480, usage_source: 'reported' });
    // text-embedding-3-large: $0.13 per 1M input tokens.
    expect(Number(row['cost_usd'])).toBeCloseTo((19480 * 0.13) / 1e6, 10);
  });

  it('a caller gone before the first byte has no time to first byte', async () => {
    const key = `sk-gone-${randomUUID()}`;
    const controller = new AbortController();
    const sent = httpRequest(`${stack.proxyUrl}/chat/completions?shape=slow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 200);
    await expect(sent).rejects.toThrow();
    const rows = await loggedRowsWhenThere(stack, 'tenant = $1', [tenantOf(key)]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ client_aborted: true, ttfb_ms: null });
    expect(rows[0]!['latency_ms']).toBeGreaterThanOrEqual(150);
  });

  it('a caller that hangs up while sending its JSON body is logged as aborted (499), not as a proxy fault', async () => {
    const key = `sk-hangup-${randomUUID()}`;
    const { port } = new URL(stack.proxyUrl);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":"text-emb`);
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    const rows = await loggedRowsWhenThere(stack, 'tenant = $1', [tenantOf(key)]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status_code: 499, error_type: 'client_aborted' });
  });
});
