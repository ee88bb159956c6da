import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { loggedRows, startStack, type Stack } from '../support/stack.js';

/**
 * A broken gateway in front of upstream answers 200 with an HTML page. Where the route promises
 * JSON the caller gets a 502 in OpenAI's shape (not a "success" its SDK cannot parse), and the
 * row records an upstream error, not a success with usage_source none.
 */
describe('upstream answers 200 with a body that is not JSON', () => {
  let gateway: Server;
  let stack: Stack;
  let contentType = 'text/html; charset=utf-8';
  beforeAll(async () => {
    gateway = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': contentType });
        res.end('<html><body><h1>502 Bad Gateway</h1>nginx</body></html>');
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    stack = await startStack({ UPSTREAM_BASE_URL: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/v1` });
  });
  afterAll(async () => {
    await stack.close();
    await new Promise((r) => gateway.close(r));
  });

  it('chat completions: a 502 invalid_upstream_output for the caller, an upstream error in the row', async () => {
    contentType = 'text/html; charset=utf-8';
    const client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-html', maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).withResponse().catch((e: unknown) => ({ response: e as InstanceType<typeof OpenAI.APIError> }));
    const err = response as unknown as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect([err.status, err.code]).toEqual([502, 'invalid_upstream_output']);
    const requestId = err.headers?.get('x-tollgate-request-id');
    const rows = await loggedRows(stack, 'request_id = $1', [requestId]);
    expect(rows.map((r) => [r.status_code, r.error_type, r.usage_source])).toEqual([[502, 'upstream_not_json', 'none']]);
  });

  it('/api/chat/stream: a 502 invalid_upstream_output before any event, not the page inside the stream', async () => {
    contentType = 'text/html; charset=utf-8';
    const base = stack.proxyUrl.replace(/\/v1$/, '');
    const res = await fetch(`${base}/api/chat/stream`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-html' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) });
    const body = (await res.json()) as { error: { code: string } };
    expect([res.status, res.headers.get('content-type'), body.error.code]).toEqual([502, expect.stringContaining('application/json'), 'invalid_upstream_output']);
    const rows = await loggedRows(stack, 'request_id = $1', [res.headers.get('x-tollgate-request-id')]);
    expect(rows.map((r) => [r.status_code, r.error_type])).toEqual([[502, 'invalid_upstream_output']]);
  });

  it('a body declared JSON that is not: passed on as sent, the row says upstream_invalid_json', async () => {
    contentType = 'application/json';
    const res = await fetch(`${stack.proxyUrl}/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-html' }, body: JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }) });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<h1>502 Bad Gateway</h1>');
    const rows = await loggedRows(stack, 'request_id = $1', [res.headers.get('x-tollgate-request-id')]);
    expect(rows.map((r) => [r.status_code, r.error_type])).toEqual([[200, 'upstream_invalid_json']]);
  });

  it('an endpoint that does not promise JSON (GET /models here) is passed on untouched', async () => {
    contentType = 'text/plain';
    const res = await fetch(`${stack.proxyUrl}/models`, { headers: { authorization: 'Bearer sk-html' } });
    expect(res.status).toBe(200);
  });
});
