import OpenAI, { APIError } from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { startMockUpstream, type MockUpstream } from '../src/mock/server.js';

let mock: MockUpstream;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockUpstream();
  client = new OpenAI({ baseURL: mock.url, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => mock.close());
beforeEach(() => mock.reset());

const messages: OpenAI.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Tell me about the weather in Lisbon today.' },
];

/** Raw HTTP against the mock, for what the SDK hides (status lines, SSE framing). */
function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${mock.url}${path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('chat completions', () => {
  it('returns a deterministic completion with usage and a snapshot model id', async () => {
    const { data: a, response, request_id } = await client.chat.completions.create({ model: 'gpt-4o', messages }).withResponse();
    const b = await client.chat.completions.create({ model: 'gpt-4o', messages });
    expect(b).toEqual(a);
    expect(a.object).toBe('chat.completion');
    expect(a.id).toMatch(/^chatcmpl-/);
    expect(a.model).toBe('gpt-4o-2024-08-06');
    expect(a.choices[0]?.message.content).toContain('weather in Lisbon');
    expect(a.choices[0]?.finish_reason).toBe('stop');
    const promptChars = 'You are terse.\nTell me about the weather in Lisbon today.'.length;
    expect(a.usage?.prompt_tokens).toBe(Math.ceil(promptChars / 4));
    expect(a.usage?.completion_tokens).toBe(Math.ceil(a.choices[0]!.message.content!.length / 4));
    expect(a.usage?.total_tokens).toBe(a.usage!.prompt_tokens + a.usage!.completion_tokens);
    expect(request_id).toMatch(/^req_[0-9a-f]+$/);
    expect(response.headers.get('openai-processing-ms')).toMatch(/^\d+$/);
    expect(mock.counts()).toEqual({ 'POST /v1/chat/completions': 2 });
  });

  it('differs when the request differs', async () => {
    const a = await client.chat.completions.create({ model: 'gpt-4o', messages });
    const b = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Something else' }] });
    expect(b.id).not.toBe(a.id);
    expect(b.choices[0]?.message.content).not.toBe(a.choices[0]?.message.content);
  });

  it('reports reasoning tokens inside completion tokens for reasoning models', async () => {
    const r = await client.chat.completions.create({ model: 'o4-mini', messages });
    const visible = Math.ceil(r.choices[0]!.message.content!.length / 4);
    expect(r.usage?.completion_tokens_details?.reasoning_tokens).toBe(2 * visible);
    expect(r.usage?.completion_tokens).toBe(3 * visible);
  });

  it('streams at least five content deltas that add up to the JSON answer, without usage by default', async () => {
    const full = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(content).toBe(full.choices[0]?.message.content);
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThanOrEqual(5);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
  });

  it('adds a final choices:[] usage chunk, and usage:null elsewhere, with include_usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('ends the raw SSE stream with data: [DONE] and sends no-buffering headers', async () => {
    const res = await post('/chat/completions', { model: 'gpt-4o', messages, stream: true });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const text = await res.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(text).not.toMatch(/^event:/m);
  });

  it('spaces chunks by x-mock-chunk-delay-ms', async () => {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o', messages, stream: true },
      { headers: { 'x-mock-chunk-delay-ms': '100' } },
    );
    const arrivals: number[] = [];
    for await (const _ of stream) arrivals.push(performance.now());
    expect(arrivals.length).toBeGreaterThanOrEqual(7);
    // Each gap must reflect the server's spacing, so the chunks were not buffered and sent together.
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!).sort((x, y) => x - y);
    // Buffered chunks would land ~0 ms apart; a late chunk may shorten the gap after it a little.
    expect(gaps[0]).toBeGreaterThanOrEqual(30);
    expect(gaps[Math.floor(gaps.length / 2)]).toBeGreaterThanOrEqual(80);
  });

  it('produces structured output that honours the schema and minItems', async () => {
    const schema = {
      type: 'object',
      properties: {
        personas: {
          type: 'array',
          minItems: 4,
          maxItems: 4,
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              age: { type: 'integer', minimum: 18, maximum: 90 },
              email: { type: 'string', format: 'email' },
              tone: { type: 'string', enum: ['warm', 'dry', 'playful'] },
              verified: { type: 'boolean' },
            },
            required: ['name', 'age', 'email', 'tone', 'verified'],
            additionalProperties: false,
          },
        },
      },
      required: ['personas'],
      additionalProperties: false,
    };
    const r = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      response_format: { type: 'json_schema', json_schema: { name: 'personas', schema, strict: true } },
    });
    const doc = JSON.parse(r.choices[0]!.message.content!) as { personas: Array<Record<string, unknown>> };
    expect(doc.personas).toHaveLength(4);
    expect(new Set(doc.personas.map((p) => p.name)).size).toBe(4);
    for (const p of doc.personas) {
      expect(typeof p.name).toBe('string');
      expect(p.age).toEqual(expect.any(Number));
      expect(p.age as number).toBeGreaterThanOrEqual(18);
      expect(p.age as number).toBeLessThanOrEqual(90);
      expect(p.email).toMatch(/@example\.com$/);
      expect(['warm', 'dry', 'playful']).toContain(p.tone);
      expect(typeof p.verified).toBe('boolean');
    }
  });

  it('works with the SDK parse() helper and $ref schemas from zod', async () => {
    const { z } = await import('zod');
    const Persona = z.object({ name: z.string(), traits: z.array(z.string()) });
    const Out = z.object({ lead: Persona, others: z.array(Persona) });
    const r = await client.chat.completions.parse({ model: 'gpt-4o', messages, response_format: zodResponseFormat(Out, 'out') });
    const parsed = r.choices[0]?.message.parsed;
    expect(parsed?.lead.traits.length).toBeGreaterThanOrEqual(1);
    expect(parsed?.others[0]?.name).toEqual(expect.any(String));
  });
});

describe('responses', () => {
  it('returns a completed response with ResponseUsage', async () => {
    const r = await client.responses.create({ model: 'gpt-4o', input: 'Say hello', instructions: 'Be brief.' });
    expect(r.status).toBe('completed');
    expect(r.id).toMatch(/^resp_/);
    expect(r.output_text).toContain('Say hello');
    expect(r.usage?.input_tokens).toBe(Math.ceil('Be brief.\nSay hello'.length / 4));
    expect(r.usage?.output_tokens).toBe(Math.ceil(r.output_text.length / 4));
    expect(r.usage?.input_tokens_details.cached_tokens).toBe(0);
  });

  it('streams the named events in order with increasing sequence numbers', async () => {
    const stream = await client.responses.create({ model: 'gpt-4o', input: [{ role: 'user', content: 'Say hello' }], stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    const deltas = types.filter((t) => t === 'response.output_text.delta').length;
    expect(deltas).toBeGreaterThanOrEqual(5);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array(deltas).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const created = events[0] as OpenAI.Responses.ResponseCreatedEvent;
    expect(created.response.usage ?? null).toBeNull();
    const done = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    const text = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('');
    expect(done.response.output_text ?? text).toBe(text);
    expect(done.response.usage?.output_tokens).toBe(Math.ceil(text.length / 4));
  });

  it('produces JSON from text.format json_schema', async () => {
    const r = await client.responses.create({
      model: 'gpt-4o',
      input: 'list',
      text: {
        format: {
          type: 'json_schema',
          name: 'list',
          schema: { type: 'object', properties: { items: { type: 'array', minItems: 3, items: { type: 'string' } } }, required: ['items'], additionalProperties: false },
        },
      },
    });
    expect(JSON.parse(r.output_text)).toEqual({ items: ['Item 1', 'Item 2', 'Item 3'] });
  });
});

describe('embeddings', () => {
  it('decodes the SDK default (base64) to the same floats as encoding_format float', async () => {
    const b64 = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
    const floats = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'], encoding_format: 'float' });
    expect(b64.data).toHaveLength(2);
    expect(b64.data[0]?.embedding).toHaveLength(1536);
    expect(b64.data[0]?.embedding).toEqual(floats.data[0]?.embedding);
    expect(b64.data[1]?.embedding).not.toEqual(b64.data[0]?.embedding);
    const norm = Math.hypot(...floats.data[0]!.embedding);
    expect(norm).toBeCloseTo(1, 4);
    // ceil(5/4) + ceil(4/4)
    expect(floats.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });

  it('sends base64 on the wire when the SDK is not told otherwise, and honours dimensions', async () => {
    const res = await post('/embeddings', { model: 'text-embedding-3-large', input: 'x', encoding_format: 'base64', dimensions: 8 });
    const body = (await res.json()) as { data: Array<{ embedding: string }> };
    expect(typeof body.data[0]?.embedding).toBe('string');
    expect(Buffer.from(body.data[0]!.embedding, 'base64')).toHaveLength(8 * 4);
  });
});

describe('images', () => {
  it('returns n urls and no usage for dall-e-3', async () => {
    const r = await client.images.generate({ model: 'dall-e-3', prompt: 'a lighthouse', n: 2 });
    expect(r.data).toHaveLength(2);
    expect(r.data?.[0]?.url).toMatch(/^https:\/\//);
    expect(r.usage).toBeUndefined();
  });

  it('returns b64 images and ImagesUsage for gpt-image-1', async () => {
    const r = await client.images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse', quality: 'low' });
    expect(r.data?.[0]?.b64_json).toEqual(expect.any(String));
    expect(r.usage).toMatchObject({ output_tokens: 272, input_tokens_details: { image_tokens: 0 } });
    expect(r.usage?.total_tokens).toBe(r.usage!.input_tokens + 272);
  });
});

describe('models and routing', () => {
  it('lists and retrieves models', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain('gpt-4o-mini');
    expect((await client.models.retrieve('gpt-4o')).object).toBe('model');
    await expect(client.models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('answers unknown routes with OpenAI-shaped 404s', async () => {
    const res = await post('/nope', {});
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { message: 'Invalid URL (POST /v1/nope)', type: 'invalid_request_error', param: null, code: null },
    });
  });

  it('counts requests per method and path', async () => {
    await client.models.list();
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'a' });
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'b' });
    expect(mock.counts()).toEqual({ 'GET /v1/models': 1, 'POST /v1/embeddings': 2 });
    expect(mock.total()).toBe(3);
    expect(mock.total('/v1/embeddings')).toBe(2);
    expect(mock.total('/embeddings')).toBe(2);
    expect(mock.total('GET /v1/models')).toBe(1);
  });
});

describe('validation and faults', () => {
  it('rejects a missing model with 400', async () => {
    const err = await client.chat.completions.create({ messages } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as APIError).type).toBe('invalid_request_error');
  });

  it('rejects requests without a bearer key', async () => {
    const res = await fetch(`${mock.url}/models`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
  });

  it.each([
    [401, OpenAI.AuthenticationError],
    [429, OpenAI.RateLimitError],
    [500, OpenAI.InternalServerError],
    [503, OpenAI.InternalServerError],
  ])('x-mock-error: %i maps to the SDK error class', async (status, cls) => {
    const err = await client.chat.completions
      .create({ model: 'gpt-4o', messages }, { headers: { 'x-mock-error': String(status) } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(cls);
    expect((err as APIError).status).toBe(status);
    expect((err as APIError).requestID).toMatch(/^req_/);
    if (status === 429) {
      expect((err as APIError).headers?.get('retry-after')).toBe('1');
      expect((err as APIError).headers?.get('x-should-retry')).toBeNull();
    }
  });

  it('lets the SDK retry a 500 (one request per attempt)', async () => {
    const retrying = new OpenAI({ baseURL: mock.url, apiKey: 'sk-test', maxRetries: 1 });
    await expect(
      retrying.embeddings.create({ model: 'text-embedding-3-small', input: 'a' }, { headers: { 'x-mock-error': '500' } }),
    ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    expect(mock.total('/v1/embeddings')).toBe(2);
  });

  it('truncates a stream after N events with x-mock-abort-after', async () => {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o', messages, stream: true },
      { headers: { 'x-mock-abort-after': '3' } },
    );
    const got: OpenAI.ChatCompletionChunk[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c);
    })().catch((e: unknown) => e);
    expect(got).toHaveLength(3);
    // undici's TypeError comes from another realm than Jest's, so match on the message.
    expect(err).toMatchObject({ message: expect.stringMatching(/terminated|closed|socket/i) });
  });

  it('sends an in-band error after N chunks with x-mock-stream-error-after', async () => {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o', messages, stream: true },
      { headers: { 'x-mock-stream-error-after': '2' } },
    );
    const got: unknown[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c);
    })().catch((e: unknown) => e);
    expect(got).toHaveLength(2);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).type).toBe('server_error');
  });

  it('delays the response headers by x-mock-latency-ms', async () => {
    const started = performance.now();
    const res = await post('/chat/completions', { model: 'gpt-4o', messages }, { 'x-mock-latency-ms': '150' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.status).toBe(200);
  });

  it('stops streaming when the client goes away', async () => {
    // At 1 s a chunk the whole stream would take over 10 s; the mock must give up right away.
    const res = await post('/chat/completions', { model: 'gpt-4o', messages, stream: true }, { 'x-mock-chunk-delay-ms': '1000' });
    const reader = res.body!.getReader();
    await reader.read();
    expect(mock.openStreams()).toBe(1);
    await reader.cancel();
    const deadline = Date.now() + 2000;
    while (mock.openStreams() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(mock.openStreams()).toBe(0);
  });
});
