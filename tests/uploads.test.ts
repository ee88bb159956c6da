import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { get as httpGet } from 'node:http';
import { gzipSync } from 'node:zlib';
import OpenAI, { toFile } from 'openai';
import { request as httpRequest } from 'undici';
import { startLocalUpstream, type LocalUpstream } from './support/localUpstream.js';
import { startStack, type Stack } from './support/stack.js';

/** An upstream that reports exactly what reached it: the proxy must not parse or re-encode uploads. */
function startEchoUpstream(): Promise<LocalUpstream> {
  return startLocalUpstream((req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'file-echo',
          object: 'file',
          bytes,
          sha256: hash.digest('hex'),
          contentType: req.headers['content-type'],
          contentEncoding: req.headers['content-encoding'] ?? null,
          method: req.method,
          path: req.url,
          text: Buffer.concat(chunks).toString('latin1'),
        }),
      );
    });
  });
}

describe('request bodies reach upstream unchanged', () => {
  let echo: LocalUpstream;
  let stack: Stack;
  beforeAll(async () => {
    echo = await startEchoUpstream();
    stack = await startStack({ UPSTREAM_BASE_URL: echo.url, BODY_LIMIT_BYTES: String(64 * 1024) });
  });
  afterAll(async () => {
    await stack.close();
    await echo.close();
  });

  it('an SDK file upload arrives upstream byte for byte with its boundary', async () => {
    const boundary = '----tollgate-test-boundary';
    const content = Buffer.from('{"custom_id":"1"}\n'.repeat(500));
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n`),
      content,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await httpRequest(`${stack.proxyUrl}/files`, {
      method: 'POST',
      body,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, authorization: 'Bearer sk-upload' },
    });
    const seen = (await res.body.json()) as { bytes: number; sha256: string; contentType: string; path: string };
    expect(res.statusCode).toBe(200);
    expect(seen).toMatchObject({
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      contentType: `multipart/form-data; boundary=${boundary}`,
      path: '/v1/files',
    });

    const client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-upload', maxRetries: 0 });
    const file = await client.files.create({ file: await toFile(content, 'b.jsonl'), purpose: 'batch' });
    expect((file as unknown as { contentType: string }).contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(file.bytes).toBeGreaterThan(content.length);
  });

  it('a gzip-compressed JSON body is read for logging and forwarded as sent', async () => {
    const json = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'compressed' }] });
    const gz = gzipSync(json);
    const res = await httpRequest(`${stack.proxyUrl}/chat/completions`, {
      method: 'POST',
      body: gz,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: 'Bearer sk-upload' },
    });
    expect(res.statusCode).toBe(200);
    const seen = (await res.body.json()) as { sha256: string; contentEncoding: string };
    expect(seen).toMatchObject({ sha256: createHash('sha256').update(gz).digest('hex'), contentEncoding: 'gzip' });
  });

  it('asking for stream usage does not re-encode the caller\'s JSON (a 20-digit seed survives)', async () => {
    const text = '{"model":"gpt-4o-mini","seed":12345678901234567890,"temperature":1.0,"messages":[{"role":"user","content":"hi"}],"stream":true}';
    const res = await httpRequest(`${stack.proxyUrl}/chat/completions`, {
      method: 'POST',
      body: text,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-upload' },
    });
    const seen = (await res.body.json()) as { text: string };
    expect(seen.text).toBe(`{"stream_options":{"include_usage":true},${text.slice(1)}`);
  });

  it('existing stream_options get include_usage without touching the rest of the text', async () => {
    const text = '{"model":"m","stream":true,"seed":12345678901234567890,"temperature":1.0,"messages":[{"role":"user","content":"\\u00e9"}],"stream_options":{"include_obfuscation":false}}';
    const res = await httpRequest(`${stack.proxyUrl}/chat/completions`, {
      method: 'POST',
      body: text,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-upload' },
    });
    const seen = (await res.body.json()) as { text: string };
    expect(seen.text).toBe(text.replace('{"include_obfuscation":false}', '{"include_obfuscation":false,"include_usage":true}'));
  });

  it('a body with a UTF-8 byte order mark is accepted and forwarded as sent', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"model":"gpt-4o-mini","messages":[]}')]);
    const res = await httpRequest(`${stack.proxyUrl}/chat/completions`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-upload' },
    });
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as { sha256: string }).sha256).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('methods other than POST pass through without the proxy\'s JSON checks; dot segments are refused', async () => {
    const options = await httpRequest(`${stack.proxyUrl}/chat/completions`, { method: 'OPTIONS', headers: { origin: 'http://app.example' } });
    expect(options.statusCode).toBe(200);
    expect(await options.body.json()).toMatchObject({ method: 'OPTIONS', path: '/v1/chat/completions' });
    const put = await httpRequest(`${stack.proxyUrl}/chat/completions`, { method: 'PUT', body: 'not json', headers: { 'content-type': 'application/json' } });
    expect(await put.body.json()).toMatchObject({ method: 'PUT', text: 'not json' });
    const dots = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(stack.proxyUrl);
      const r = httpGet({ host: u.hostname, port: u.port, path: '/v1/models/../../admin' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      r.on('error', reject);
    });
    expect(dots.status).toBe(400);
    expect(JSON.parse(dots.body)).toMatchObject({ error: { code: 'invalid_url' } });
  });

  it('an upload of unknown length (chunked, as the SDK sends a file stream) is streamed upstream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-upload-'));
    const path = join(dir, 'batch.jsonl');
    writeFileSync(path, '{"custom_id":"2"}\n'.repeat(300));
    const client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-upload', maxRetries: 0 });
    const file = await client.files.create({ file: createReadStream(path), purpose: 'batch' });
    const seen = file as unknown as { method: string; path: string; text: string };
    expect(seen).toMatchObject({ method: 'POST', path: '/v1/files' });
    expect(seen.text).toContain('{"custom_id":"2"}\n'.repeat(300));

    // An endpoint without an upload limit of its own (container files) has BODY_LIMIT_BYTES.
    const tooBig = await httpRequest(`${stack.proxyUrl}/containers/cntr_1/files`, {
      method: 'POST',
      body: Readable.from([Buffer.alloc(48 * 1024, 1), Buffer.alloc(48 * 1024, 2)]),
      headers: { 'content-type': 'multipart/form-data; boundary=x', authorization: 'Bearer sk-upload' },
    });
    expect(tooBig.statusCode).toBe(413);
    expect(await tooBig.body.json()).toMatchObject({ error: { code: 'request_too_large' } });
  });

  it('an Idempotency-Key on an upload tells a retry (new boundary) from another upload (422)', async () => {
    const upload = (boundary: string, content: string) =>
      httpRequest(`${stack.proxyUrl}/files`, {
        method: 'POST',
        body: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n${content}\r\n--${boundary}--\r\n`,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, authorization: 'Bearer sk-upload', 'idempotency-key': 'upload-1' },
      });
    const first = await upload('b1', 'one');
    expect(first.statusCode).toBe(200);
    const firstBody = await first.body.text();
    const retry = await upload('b2-other-boundary', 'one');
    expect(retry.statusCode).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await retry.body.text()).toBe(firstBody);
    const other = await upload('b3', 'two');
    expect(other.statusCode).toBe(422);
    expect(await other.body.json()).toMatchObject({ error: { code: 'idempotency_key_mismatch' } });
  });

  it('an upload over BODY_LIMIT_BYTES is refused with 413 where the endpoint has no limit of its own', async () => {
    const res = await httpRequest(`${stack.proxyUrl}/containers/cntr_1/files`, {
      method: 'POST',
      body: Buffer.alloc(128 * 1024, 1),
      headers: { 'content-type': 'multipart/form-data; boundary=x', authorization: 'Bearer sk-upload' },
    });
    expect(res.statusCode).toBe(413);
    expect(await res.body.json()).toMatchObject({ error: { code: 'request_too_large' } });
  });
});
