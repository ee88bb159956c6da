import { gunzipSync } from 'node:zlib';
import OpenAI, { toFile } from 'openai';
import { request as httpRequest } from 'undici';
import { loggedRows, startStack, type Stack } from './support/stack.js';

const KEY = 'sk-surface-test';
const MiB = 1024 * 1024;

/**
 * One OpenAI API call per case of issue 12, made with the official SDK through the proxy in front
 * of the fake upstream: each works, and its call-log row is named and priced right.
 */
describe('the API surface a real app uses, through the proxy', () => {
  let stack: Stack;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: KEY, maxRetries: 0 });
  });
  afterAll(() => stack.close());

  async function rowOf(response: Response | { headers: Headers }) {
    const rows = await loggedRows(stack, 'request_id = $1', [response.headers.get('x-tollgate-request-id')]);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  describe('uploads', () => {
    it('files.create of 26 MiB is streamed to upstream whole (OpenAI takes up to 512 MB)', async () => {
      const content = Buffer.alloc(26 * MiB, 0x61);
      const { data, response } = await client.files.create({ file: await toFile(content, 'big.jsonl'), purpose: 'batch' }).withResponse();
      expect(data).toMatchObject({ object: 'file', bytes: content.length, filename: 'big.jsonl' });
      expect(await rowOf(response)).toMatchObject({ endpoint: 'files', status_code: 200 });
    });

    it('a keyed 26 MiB upload is fingerprinted on the way (not in memory) and replayed on retry', async () => {
      const content = Buffer.alloc(26 * MiB, 0x62);
      const key = `big-upload-${Date.now()}`;
      const first = await client.files.create({ file: await toFile(content, 'keyed.jsonl'), purpose: 'batch' }, { headers: { 'Idempotency-Key': key } }).withResponse();
      const calls = stack.mock.total('/v1/files');
      const retry = await client.files.create({ file: await toFile(content, 'keyed.jsonl'), purpose: 'batch' }, { headers: { 'Idempotency-Key': key } }).withResponse();
      expect(retry.data).toEqual(first.data);
      expect(retry.response.headers.get('idempotent-replayed')).toBe('true');
      expect(stack.mock.total('/v1/files')).toBe(calls);
    });

    it('audio over OpenAI\'s 25 MB is refused before a byte goes upstream; JSON keeps BODY_LIMIT_BYTES', async () => {
      const before = stack.mock.total('/v1/audio/transcriptions');
      const err = await client.audio.transcriptions.create({ file: await toFile(Buffer.alloc(27 * MiB), 'long.wav'), model: 'whisper-1' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(err).toMatchObject({ status: 413, code: 'request_too_large' });
      expect(stack.mock.total('/v1/audio/transcriptions')).toBe(before);
      const json = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(26 * MiB) }] }).catch((e: unknown) => e);
      expect(json).toMatchObject({ status: 413, code: 'request_too_large' });
    });
  });

  describe('audio', () => {
    it('transcriptions: the model is read from the form (after the file) and whisper-1 is priced by duration', async () => {
      const audio = Buffer.alloc(32_000 * 90, 1); // 90 s at the fake's 32,000 bytes a second
      const { data, response } = await client.audio.transcriptions.create({ file: await toFile(audio, 'talk.wav'), model: 'whisper-1' }).withResponse();
      expect(data.text).toContain('90 s');
      const row = await rowOf(response);
      expect(row).toMatchObject({ endpoint: 'audio.transcriptions', model: 'whisper-1', usage_source: 'reported' });
      expect(Number(row['cost_usd'])).toBeCloseTo(1.5 * 0.006, 10);
    });

    it('transcriptions: gpt-4o-transcribe is priced by audio and text tokens as upstream reports them', async () => {
      const { data, response } = await client.audio.transcriptions
        .create({ model: 'gpt-4o-transcribe', file: await toFile(Buffer.alloc(32_000 * 10, 1), 'short.wav'), prompt: 'names of people' })
        .withResponse();
      const usage = (data as unknown as { usage: { input_tokens: number; output_tokens: number; input_token_details: { audio_tokens: number; text_tokens: number } } }).usage;
      const row = await rowOf(response);
      expect(row).toMatchObject({ model: 'gpt-4o-transcribe', tokens_prompt: usage.input_tokens, tokens_completion: usage.output_tokens });
      const expected = (usage.input_token_details.text_tokens * 2.5 + usage.input_token_details.audio_tokens * 6 + usage.output_tokens * 10) / 1e6;
      expect(Number(row['cost_usd'])).toBeCloseTo(expected, 10);
    });

    it('speech: tts-1 and tts-1-hd by characters, gpt-4o-mini-tts by tokens (reported in SSE, else estimated from the text)', async () => {
      const input = 'The quick brown fox jumps over the lazy dog. '.repeat(10);
      const tts1 = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input }).withResponse();
      expect((await tts1.data.arrayBuffer()).byteLength).toBeGreaterThan(0);
      expect(Number((await rowOf(tts1.response))['cost_usd'])).toBeCloseTo((input.length * 15) / 1e6, 12);
      const hd = await client.audio.speech.create({ model: 'tts-1-hd', voice: 'alloy', input }).withResponse();
      await hd.data.arrayBuffer();
      expect(Number((await rowOf(hd.response))['cost_usd'])).toBeCloseTo((input.length * 30) / 1e6, 12);

      const mini = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input }).withResponse();
      await mini.data.arrayBuffer();
      const estimated = await rowOf(mini.response);
      expect(estimated).toMatchObject({ usage_source: 'estimated', model: 'gpt-4o-mini-tts' });
      expect(Number(estimated['cost_usd'])).toBeGreaterThan(0);

      const sse = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input, stream_format: 'sse' }).withResponse();
      const text = await sse.data.text();
      const done = JSON.parse(/data: (\{"type":"speech\.audio\.done".*)/.exec(text)![1]!) as { usage: { input_tokens: number; output_tokens: number } };
      const reported = await rowOf(sse.response);
      expect(reported).toMatchObject({ usage_source: 'reported', stream: false, tokens_prompt: done.usage.input_tokens, tokens_completion: done.usage.output_tokens });
      expect(Number(reported['cost_usd'])).toBeCloseTo((done.usage.input_tokens * 0.6 + done.usage.output_tokens * 12) / 1e6, 12);
    });
  });

  it('moderations are a known free endpoint: cost 0, not an unknown price', async () => {
    const { response } = await client.moderations.create({ model: 'omni-moderation-latest', input: 'hello' }).withResponse();
    const row = await rowOf(response);
    expect(row).toMatchObject({ endpoint: 'moderations', model: 'omni-moderation-latest', status_code: 200 });
    expect(row['cost_usd']).not.toBeNull();
    expect(Number(row['cost_usd'])).toBe(0);
  });

  it('reads and deletes have their own endpoint names and cost nothing', async () => {
    const list = await client.chat.completions.list().withResponse();
    expect(list.data.data).toEqual([]);
    const row = await rowOf(list.response);
    expect(row).toMatchObject({ endpoint: 'chat.completions.get', method: 'GET' });
    expect(Number(row['cost_usd'])).toBe(0);
    const del = await httpRequest(`${stack.proxyUrl}/files/file-abc123def456ghi789`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } });
    await del.body.text();
    expect(await rowOf({ headers: new Headers({ 'x-tollgate-request-id': String(del.headers['x-tollgate-request-id']) }) })).toMatchObject({ endpoint: 'files.item.delete' });
  });

  describe('Accept-Encoding: gzip', () => {
    const embeddingBody = JSON.stringify({ model: 'text-embedding-3-small', input: ['one', 'two', 'three', 'four'], encoding_format: 'float' });

    it('compresses an answer the proxy read for usage, and still logs that usage', async () => {
      const res = await httpRequest(`${stack.proxyUrl}/embeddings`, {
        method: 'POST',
        body: embeddingBody,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'accept-encoding': 'gzip' },
      });
      const raw = Buffer.from(await res.body.arrayBuffer());
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(res.headers['vary']).toContain('Accept-Encoding');
      const json = JSON.parse(gunzipSync(raw).toString('utf8')) as { data: unknown[]; usage: { prompt_tokens: number } };
      expect(json.data).toHaveLength(4);
      expect(raw.length).toBeLessThan(gunzipSync(raw).length / 1.5);
      const row = await rowOf({ headers: new Headers({ 'x-tollgate-request-id': String(res.headers['x-tollgate-request-id']) }) });
      expect(row).toMatchObject({ tokens_prompt: json.usage.prompt_tokens, usage_source: 'reported' });
    });

    it('leaves the answer as it is for a caller that did not ask, and never compresses an event stream', async () => {
      const plain = await httpRequest(`${stack.proxyUrl}/embeddings`, { method: 'POST', body: embeddingBody, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' } });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect((await plain.body.json()) as object).toMatchObject({ object: 'list' });
      const sse = await httpRequest(`${stack.proxyUrl}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a long answer '.repeat(200) }] }),
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'accept-encoding': 'gzip' },
      });
      expect(sse.headers['content-encoding']).toBeUndefined();
      expect(await sse.body.text()).toContain('data: [DONE]');
    });

    it('with the cache on, the compressed miss is stored plain: the hit is the same JSON', async () => {
      const send = () =>
        httpRequest(`${stack.proxyUrl}/embeddings`, {
          method: 'POST',
          body: embeddingBody,
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'accept-encoding': 'gzip', 'x-tollgate-cache': 'on' },
        });
      const miss = await send();
      const missText = gunzipSync(Buffer.from(await miss.body.arrayBuffer())).toString('utf8');
      expect([miss.headers['x-tollgate-cache'], miss.headers['content-encoding']]).toEqual(['MISS', 'gzip']);
      const hit = await send();
      const hitRaw = Buffer.from(await hit.body.arrayBuffer());
      const hitText = hit.headers['content-encoding'] === 'gzip' ? gunzipSync(hitRaw).toString('utf8') : hitRaw.toString('utf8');
      expect(hit.headers['x-tollgate-cache']).toBe('HIT');
      expect(JSON.parse(hitText)).toEqual(JSON.parse(missText));
    });

    it('is transparent to the SDK (fetch asks for gzip and decodes it)', async () => {
      const e = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta', 'gamma'] });
      expect(e.data).toHaveLength(3);
    });
  });

  describe('Responses API, background mode', () => {
    it('a background response is created, polled and resumed as a stream; only the create is a billable name', async () => {
      const created = await client.responses.create({ model: 'gpt-4o-mini', input: 'work on this later', background: true }).withResponse();
      expect(created.data).toMatchObject({ status: 'queued', background: true });
      const createRow = await rowOf(created.response);
      // No usage yet: the price is unknown on this row (see README, background mode).
      expect(createRow).toMatchObject({ endpoint: 'responses', usage_source: 'none' });

      const polled = await client.responses.retrieve(created.data.id).withResponse();
      expect(polled.data).toMatchObject({ status: 'completed', id: created.data.id });
      const pollRow = await rowOf(polled.response);
      expect(pollRow).toMatchObject({ endpoint: 'responses.item.get', tokens_prompt: null });
      expect(Number(pollRow['cost_usd'])).toBe(0);

      const resumed = await client.responses.retrieve(created.data.id, { stream: true, starting_after: 2 });
      const types: string[] = [];
      for await (const event of resumed) types.push(event.type);
      expect(types.at(-1)).toBe('response.completed');
    });
  });

  it('images.edit (multipart): the model is read from the form and priced by the usage upstream reports', async () => {
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
    const { data, response } = await client.images
      .edit({ image: await toFile(png, 'in.png', { type: 'image/png' }), prompt: 'add a hat', model: 'gpt-image-1', quality: 'low', size: '1024x1024' })
      .withResponse();
    expect(data.data).toHaveLength(1);
    const row = await rowOf(response);
    expect(row).toMatchObject({ endpoint: 'images.edits', model: 'gpt-image-1', usage_source: 'reported' });
    const u = data.usage!;
    expect(Number(row['cost_usd'])).toBeCloseTo((u.input_tokens * 5 + u.output_tokens * 40) / 1e6, 10);
  });
});
