import { request } from 'node:http';
import { connect as netConnect, type NetConnectOpts } from 'node:net';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import WebSocket from 'ws';
import { tenantOf } from '../proxy/src/tenant.js';
import { loggedRowsWhenThere, startStack, type Stack } from './support/stack.js';

/**
 * The Realtime API over WebSocket through the proxy, with the official SDK's client. The SDK always
 * dials `wss://` (it sets the scheme itself); against this plain-HTTP proxy it is given a plain TCP
 * connection, which is what a TLS terminator in front of the proxy would hand it.
 */
const plainTcp = { createConnection: (opts: NetConnectOpts) => netConnect(opts) };

function nextEvent<T = Record<string, unknown>>(rt: OpenAIRealtimeWS, type: string): Promise<T> {
  return new Promise((resolve) => rt.on(type as 'session.created', (e) => resolve(e as unknown as T)));
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

describe('Realtime API over WebSocket', () => {
  let stack: Stack;
  let wsUrl: string;
  beforeAll(async () => {
    stack = await startStack({ OPENAI_API_KEY: 'sk-server-key' });
    wsUrl = stack.proxyUrl.replace(/^http/, 'ws');
  });
  afterAll(() => stack.close());

  it('relays a session both ways with the SDK and logs one row with summed, priced usage', async () => {
    const client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-caller-rt' });
    const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime', options: plainTcp as never }, client);
    // The binary echo below is not an event the SDK can parse: it says so here.
    rt.on('error', () => {});
    const created = await nextEvent<{ session: { model: string } }>(rt, 'session.created');
    expect(created.session.model).toBe('gpt-realtime');

    const dones: Array<{ response: { usage: Record<string, number> } }> = [];
    for (let i = 0; i < 2; i++) {
      const done = nextEvent<{ response: { usage: Record<string, number> } }>(rt, 'response.done');
      rt.send({ type: 'response.create' });
      dones.push(await done);
    }
    // Binary frames stay binary and byte for byte.
    const payload = Buffer.from([0, 1, 2, 250, 251, 252]);
    const echoed = new Promise<{ data: Buffer; isBinary: boolean }>((resolve) => rt.socket.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
    rt.socket.send(payload, { binary: true });
    expect(await echoed).toEqual({ data: payload, isBinary: true });

    const handshake = stack.mock.realtime.handshakes.at(-1)!;
    expect(handshake).toMatchObject({ url: '/v1/realtime?model=gpt-realtime', authorization: 'Bearer sk-caller-rt' });

    const clientClosed = closed(rt.socket);
    rt.socket.close(4000, 'client done');
    expect(await clientClosed).toEqual({ code: 4000, reason: 'client done' });

    const rows = await loggedRowsWhenThere(stack, "endpoint = 'realtime' AND tenant <> 'anonymous' AND error_type IS NULL AND model = 'gpt-realtime'", []);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    const sum = (k: string) => dones.reduce((n, d) => n + d.response.usage[k]!, 0);
    expect(row).toMatchObject({ status_code: 101, stream: true, usage_source: 'reported', tokens_prompt: sum('input_tokens'), tokens_completion: sum('output_tokens'), cache_status: 'bypass' });
    // Priced from the table, audio and text apart: each response.done on its own, then summed.
    const cost = dones.reduce((usd, { response: { usage: u } }) => {
      const d = u as unknown as { input_token_details: Record<string, number> & { cached_tokens_details: Record<string, number> }; output_token_details: Record<string, number> };
      const cached = d.input_token_details.cached_tokens!;
      const audioIn = d.input_token_details.audio_tokens! - d.input_token_details.cached_tokens_details.audio_tokens!;
      const textIn = u.input_tokens! - cached - audioIn;
      return usd + (textIn * 4 + cached * 0.4 + audioIn * 32 + d.output_token_details.text_tokens! * 16 + d.output_token_details.audio_tokens! * 64) / 1e6;
    }, 0);
    expect(Number(row['cost_usd'])).toBeCloseTo(cost, 10);
    expect(Number(row['latency_ms'])).toBeGreaterThanOrEqual(0);
  });

  it("keeps upstream's close code and reason, and uses the server's key for a caller without one", async () => {
    const ws = new WebSocket(`${wsUrl}/realtime?model=gpt-realtime-mini`);
    const session = await new Promise<Record<string, unknown>>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)) as Record<string, unknown>)));
    expect(session['type']).toBe('session.created');
    expect(stack.mock.realtime.handshakes.at(-1)!.authorization).toBe('Bearer sk-server-key');
    const end = closed(ws);
    ws.send(JSON.stringify({ type: 'mock.close', code: 4321, reason: 'upstream says bye' }));
    expect(await end).toEqual({ code: 4321, reason: 'upstream says bye' });
    const rows = await loggedRowsWhenThere(stack, "endpoint = 'realtime' AND error_type = 'websocket_close_4321'", []);
    expect(rows).toHaveLength(1);
    // A session without a response costs nothing, and its model is known.
    expect(rows[0]).toMatchObject({ model: 'gpt-realtime-mini', status_code: 101 });
    expect(Number(rows[0]!['cost_usd'])).toBe(0);
  });

  it('a client that hangs up without a close frame ends the upstream session too', async () => {
    const ws = new WebSocket(`${wsUrl}/realtime?model=gpt-realtime`, { headers: { authorization: 'Bearer sk-hangup' } });
    await new Promise((resolve) => ws.once('message', resolve));
    expect(stack.mock.realtime.sessions).toBeGreaterThan(0);
    ws.terminate();
    const until = Date.now() + 3000;
    while (stack.mock.realtime.sessions > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(stack.mock.realtime.sessions).toBe(0);
    const rows = await loggedRowsWhenThere(stack, "endpoint = 'realtime' AND client_aborted", []);
    expect(rows.length).toBeGreaterThanOrEqual(1);
  });

  it("relays upstream's refusal of the handshake (status and body) and logs it", async () => {
    const ws = new WebSocket(`${wsUrl}/realtime?model=gpt-realtime`, { headers: { authorization: 'Bearer sk-refused', 'x-mock-error': '429' } });
    const refusal = await new Promise<{ status: number; body: string }>((resolve) =>
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      }),
    );
    ws.on('error', () => {});
    expect(refusal.status).toBe(429);
    expect(JSON.parse(refusal.body)).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
    const rows = await loggedRowsWhenThere(stack, "endpoint = 'realtime' AND status_code = 429", []);
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!['cost_usd'])).toBe(0);
  });

  it('refuses a WebSocket upgrade on any other path, and still serves that path over plain HTTP', async () => {
    const ws = new WebSocket(`${wsUrl}/chat/completions`);
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    expect(status).toBe(404);
    // Another protocol's upgrade offer (curl --http2 sends `Upgrade: h2c`) is declined: an HTTP/1.1 answer.
    const h2c = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const url = new URL(`${stack.proxyUrl}${path}`);
        const headers: Record<string, string> = { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA', authorization: 'Bearer sk-h2c' };
        if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
        const req = request({ method, host: url.hostname, port: url.port, path: url.pathname, headers }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const chat = await h2c('POST', '/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'over h2c offer' }] }));
    expect(chat.status).toBe(200);
    expect(JSON.parse(chat.body)).toMatchObject({ object: 'chat.completion' });
    const answer = await h2c('GET', '/models');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ object: 'list' });
  });

  it('a shutdown (server.close) ends open sessions with 1001 and still logs them', async () => {
    const own = await startStack();
    const ws = new WebSocket(`${own.proxyUrl.replace(/^http/, 'ws')}/realtime?model=gpt-realtime`, { headers: { authorization: 'Bearer sk-shutdown' } });
    await new Promise((resolve) => ws.once('message', resolve));
    const end = closed(ws);
    const serverClosed = new Promise<void>((resolve) => own.server.close(() => resolve()));
    expect((await end).code).toBe(1001);
    await serverClosed;
    const rows = await loggedRowsWhenThere(own, "endpoint = 'realtime' AND model = 'gpt-realtime' AND status_code = 101 AND tenant = $1", [tenantOf('sk-shutdown')]);
    expect(rows).toHaveLength(1);
    await own.close();
  });
});
