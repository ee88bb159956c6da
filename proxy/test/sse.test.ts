import { createServer, type Server } from 'node:http';
import { SseEventSplitter } from '../src/v1/sseObserver.js';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { startMockUpstream, type MockUpstream } from '../src/mock/server.js';
import {
  analyseStream,
  chatCompletionToSse,
  isCompleteJson,
  parseSse,
  responseToSse,
  sseForRequest,
  StreamBroadcaster,
} from '../src/sse/index.js';

/** A server that answers every request with the given SSE text, so the openai SDK parses our streams. */
async function sseServer(): Promise<{ url: string; serve(text: string): void; close(): Promise<void> }> {
  let body = '';
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    serve(text) {
      body = text;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function rawStream(client: OpenAI, path: '/chat/completions' | '/responses', body: Record<string, unknown>): Promise<string> {
  const res = await client.post(path, { body: { ...body, stream: true }, stream: true }).asResponse();
  return res.text();
}

describe('SSE: one stored answer serves both shapes', () => {
  let mock: MockUpstream;
  let upstream: OpenAI;
  let replay: Awaited<ReturnType<typeof sseServer>>;
  let viaReplay: OpenAI;
  beforeAll(async () => {
    mock = await startMockUpstream({ port: 0 });
    upstream = new OpenAI({ baseURL: mock.url, apiKey: 'sk-sse', maxRetries: 0 });
    replay = await sseServer();
    viaReplay = new OpenAI({ baseURL: replay.url, apiKey: 'sk-sse', maxRetries: 0 });
  });
  afterAll(async () => {
    await mock.close();
    await replay.close();
  });

  const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Tell me about caching in two sentences.' }] };

  it('a recorded chat stream assembles to the JSON answer and is complete', async () => {
    const json = await upstream.chat.completions.create(chat);
    const transcript = await rawStream(upstream, '/chat/completions', { ...chat, stream_options: { include_usage: true } });
    const out = analyseStream('chat', transcript);
    expect(out).toMatchObject({ complete: true, errored: false, hasUsageChunk: true });
    expect(out.json!['choices']).toEqual([
      expect.objectContaining({ index: 0, finish_reason: 'stop', message: expect.objectContaining({ role: 'assistant', content: json.choices[0]!.message.content }) }),
    ]);
    expect(out.usage).toEqual(json.usage);
    expect(isCompleteJson('chat', 200, json)).toBe(true);
  });

  it.each([1, 2])('the JSON assembled from a stream equals the non-streamed answer field for field (n=%i)', async (n) => {
    const body = { ...chat, n };
    const json = await upstream.chat.completions.create(body);
    const transcript = await rawStream(upstream, '/chat/completions', { ...body, stream_options: { include_usage: true } });
    const out = analyseStream('chat', transcript);
    expect(out.complete).toBe(true);
    expect(out.json).toEqual(json);
    // Every message member of the non-streamed API, annotations included.
    for (const c of out.json!['choices'] as Array<{ message: Record<string, unknown> }>) {
      expect(Object.keys(c.message)).toEqual(['role', 'content', 'refusal', 'annotations']);
    }
    // Streamed annotations (search models) are collected into the message.
    const cite = { type: 'url_citation', url_citation: { url: 'https://example.com', title: 'x', start_index: 0, end_index: 1 } };
    const withCite = parseSse(transcript).map((e) => {
      if (e.data === '[DONE]') return e;
      const j = JSON.parse(e.data) as { choices: Array<{ delta: Record<string, unknown>; finish_reason: unknown }> };
      for (const c of j.choices) if (c.finish_reason) c.delta['annotations'] = [cite];
      return { ...e, data: JSON.stringify(j) };
    });
    const cited = analyseStream('chat', withCite).json!;
    for (const c of cited['choices'] as Array<{ message: { annotations: unknown[] } }>) expect(c.message.annotations).toEqual([cite]);
    // ... and survive a stream synthesised from the stored JSON.
    expect(analyseStream('chat', chatCompletionToSse(cited, { includeUsage: true })).json).toEqual(cited);
  });

  it('a stream cut before [DONE], or carrying an error event, is not complete', async () => {
    const transcript = await rawStream(upstream, '/chat/completions', chat);
    const cut = transcript.slice(0, transcript.indexOf('data: [DONE]'));
    expect(analyseStream('chat', transcript).complete).toBe(true);
    expect(analyseStream('chat', cut).complete).toBe(false);
    const withError = cut + 'data: {"error":{"message":"boom","type":"server_error","param":null,"code":null}}\n\ndata: [DONE]\n\n';
    expect(analyseStream('chat', withError)).toMatchObject({ complete: false, errored: true });
    expect(isCompleteJson('chat', 200, { choices: [{ finish_reason: null }] })).toBe(false);
    expect(isCompleteJson('chat', 500, { choices: [{ finish_reason: 'stop' }] })).toBe(false);
  });

  it('a stream synthesised from stored chat JSON is what the SDK turns back into the same completion', async () => {
    const json = await upstream.chat.completions.create(chat);
    const sse = chatCompletionToSse(json as unknown as Record<string, unknown>, { includeUsage: true });
    replay.serve(sse);
    const final = await viaReplay.chat.completions.stream(chat).finalChatCompletion();
    expect(final.id).toBe(json.id);
    expect(final.model).toBe(json.model);
    expect(final.choices[0]!.message.content).toBe(json.choices[0]!.message.content);
    expect(final.choices[0]!.finish_reason).toBe('stop');
    expect(final.usage).toEqual(json.usage);
    // Without include_usage there is no usage chunk, as upstream would send.
    expect(analyseStream('chat', chatCompletionToSse(json as never, { includeUsage: false })).hasUsageChunk).toBe(false);
  });

  it('tool calls survive synthesis and assembly', () => {
    const json = {
      id: 'chatcmpl-x',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    };
    const out = analyseStream('chat', chatCompletionToSse(json, { includeUsage: true }));
    expect(out.complete).toBe(true);
    expect(out.json).toMatchObject({ id: 'chatcmpl-x', choices: [{ finish_reason: 'tool_calls', message: { tool_calls: json.choices[0]!.message.tool_calls } }], usage: json.usage });
  });

  it('a Responses stream: recorded → JSON → synthesised → the SDK final response equals the stored one', async () => {
    const body = { model: 'gpt-4o-mini', input: 'Explain idempotency keys briefly.' };
    const transcript = await rawStream(upstream, '/responses', body);
    const out = analyseStream('responses', transcript);
    expect(out.complete).toBe(true);
    const stored = out.json!;
    expect(stored['status']).toBe('completed');
    expect(isCompleteJson('responses', 200, stored)).toBe(true);
    const sse = responseToSse(stored);
    const types = parseSse(sse).map((e) => e.event);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    replay.serve(sse);
    const final = await viaReplay.responses.stream(body).finalResponse();
    expect(final.id).toBe(stored['id']);
    expect(final.output_text).toBe((await upstream.responses.create(body)).output_text);
    expect(final.usage).toEqual(stored['usage']);
  });

  it('sseForRequest replays the recording when it fits, strips or synthesises the usage chunk when not', async () => {
    const withUsage = await rawStream(upstream, '/chat/completions', { ...chat, stream_options: { include_usage: true } });
    const json = analyseStream('chat', withUsage).json;
    expect(sseForRequest('chat', { bodyJson: json, sseText: withUsage }, { includeUsage: true })).toBe(withUsage);
    const stripped = sseForRequest('chat', { bodyJson: json, sseText: withUsage }, { includeUsage: false });
    expect(analyseStream('chat', stripped)).toMatchObject({ complete: true, hasUsageChunk: false });
    expect(stripped).toBe(await rawStream(upstream, '/chat/completions', chat));
    const noUsage = await rawStream(upstream, '/chat/completions', chat);
    expect(analyseStream('chat', sseForRequest('chat', { bodyJson: json, sseText: noUsage }, { includeUsage: true })).usage).toEqual(json!['usage']);
  });
});

describe('StreamBroadcaster', () => {
  it('gives a late subscriber the prefix first, then live chunks, then the end', () => {
    const b = new StreamBroadcaster();
    const early: string[] = [];
    b.subscribe({ onChunk: (c) => early.push(c), onEnd: () => early.push('<end>'), onError: () => early.push('<err>') });
    b.write('a');
    b.write('b');
    const late: string[] = [];
    b.subscribe({ onChunk: (c) => late.push(c), onEnd: () => late.push('<end>'), onError: () => late.push('<err>') });
    b.write('c');
    b.end();
    b.write('ignored');
    expect(early).toEqual(['a', 'b', 'c', '<end>']);
    expect(late).toEqual(['ab', 'c', '<end>']);
    const after: string[] = [];
    b.subscribe({ onChunk: (c) => after.push(c), onEnd: () => after.push('<end>'), onError: () => after.push('<err>') });
    expect(after).toEqual(['abc', '<end>']);
    expect(b.text).toBe('abc');
  });

  it('passes a failure to subscribers, and an unsubscribed one hears nothing more', () => {
    const b = new StreamBroadcaster();
    const seen: string[] = [];
    const off = b.subscribe({ onChunk: (c) => seen.push(c), onEnd: () => seen.push('<end>'), onError: () => seen.push('<err>') });
    const other: string[] = [];
    b.subscribe({ onChunk: (c) => other.push(c), onEnd: () => other.push('<end>'), onError: (e) => other.push(`<err:${(e as Error).message}>`) });
    b.write('x');
    off();
    b.write('y');
    b.fail(new Error('cut'));
    expect(seen).toEqual(['x']);
    expect(other).toEqual(['x', 'y', '<err:cut>']);
    expect(b.state).toBe('failed');
  });
});

describe('SseEventSplitter', () => {
  it('splits on a blank line in any SSE line ending, waiting when a CR may be half a CRLF', () => {
    const split = new SseEventSplitter();
    expect(split.push('data: a\r\rdata: b\n\ndata: c\r\n\r\ndata: d\n\r\n')).toEqual(['data: a\r\r', 'data: b\n\n', 'data: c\r\n\r\n', 'data: d\n\r\n']);
    expect(split.push('data: e\r\n\r')).toEqual([]);
    expect(split.push('\ndata: f')).toEqual(['data: e\r\n\r\n']);
    expect(split.rest()).toBe('data: f');
  });
});
