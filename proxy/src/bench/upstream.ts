import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The benchmark's upstream: answers `POST /v1/chat/completions` (and `/chat/completions`) with
 * canned bytes in microseconds, so it is never what limits a measurement (the project's mock,
 * proxy/src/mock, builds each answer and tops out near 3,000 requests/s). The request body is only
 * scanned for `"stream":true` and `"include_usage":true`, never parsed.
 *
 * JSON: one `chat.completion` with `usage`, Content-Length set, in one write.
 * `"stream":true`: `text/event-stream`, 10 `chat.completion.chunk` events, the usage chunk only
 * when the body asks for it (as OpenAI does: Tollgate adds the option and hides the chunk again),
 * then `data: [DONE]`; in one write, or, with a chunk delay (BENCH_STREAM_CHUNK_DELAY_MS, or
 * POST /_bench/chunk-delay), in 10 writes that delay apart: 9 delays a stream.
 *
 * A caller must send `Authorization: Bearer sk-bench` (401 otherwise), so a proxy that dropped the
 * key would show up as errors. For the benchmark itself, on /_bench/ (never proxied: the bench
 * calls it directly): `GET /_bench/stats` (answered chat calls, streams, in flight, peak in
 * flight), `POST /_bench/reset-peak`, `POST /_bench/chunk-delay?ms=N`.
 *
 * Environment: PORT (0: any free port), HOST, BENCH_STREAM_CHUNK_DELAY_MS. Prints
 * "bench upstream listening on http://HOST:PORT/v1" once it listens.
 */

const MODEL = 'gpt-4o-mini-2024-07-18';
const ID = 'chatcmpl-BnchA7sQ2xYpL0vR9mK3tW8uE5iO1';
const CREATED = 1_767_225_600;
const FINGERPRINT = 'fp_560af6e559';
// A typical short answer, split the way OpenAI streams it (a few tokens per event).
const PIECES = [
  'Tollgate sits between your application and the OpenAI API. ',
  'It forwards every request unchanged, ',
  'reads the usage the API reports, ',
  'and writes one row per call to Postgres ',
  'with the model, the tokens and the cost. ',
  'Identical requests can be answered from its cache, ',
  'and a retried request with the same Idempotency-Key ',
  'gets the first answer back instead of a second charge.',
];
const USAGE = {
  prompt_tokens: 31,
  completion_tokens: 62,
  total_tokens: 93,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};

const COMPLETION = Buffer.from(
  JSON.stringify({
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model: MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content: PIECES.join(''), refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: USAGE,
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
  }),
);

/**
 * The SSE writes of one stream: the role event, 8 content events, then the finish event, the
 * usage event (when asked for) and [DONE] together, as OpenAI sends its tail at once. Asking for
 * usage (Tollgate always does) therefore adds bytes, never a delay.
 */
function streamWrites(includeUsage: boolean): Buffer[] {
  // With include_usage every chunk but the usage one carries `"usage":null`; without it, no key.
  const chunk = (choices: unknown[], usage: unknown = null) =>
    `data: ${JSON.stringify({
      id: ID,
      object: 'chat.completion.chunk',
      created: CREATED,
      model: MODEL,
      service_tier: 'default',
      system_fingerprint: FINGERPRINT,
      choices,
      ...(includeUsage ? { usage } : {}),
    })}\n\n`;
  const choice = (delta: object, finish: string | null = null) => ({ index: 0, delta, logprobs: null, finish_reason: finish });
  const tail = chunk([choice({}, 'stop')]) + (includeUsage ? chunk([], USAGE) : '') + 'data: [DONE]\n\n';
  return [chunk([choice({ role: 'assistant', content: '', refusal: null })]), ...PIECES.map((content) => chunk([choice({ content })])), tail].map((w) =>
    Buffer.from(w),
  );
}

const WRITES = { plain: streamWrites(false), usage: streamWrites(true) };
const WHOLE = { plain: Buffer.concat(WRITES.plain), usage: Buffer.concat(WRITES.usage) };

// Static headers, as OpenAI sends them (minus its edge's), built once.
const JSON_HEADERS = {
  'content-type': 'application/json',
  'content-length': String(COMPLETION.length),
  'openai-processing-ms': '1',
  'openai-version': '2020-10-01',
  'x-request-id': 'req_bench',
};
const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'openai-processing-ms': '1',
  'openai-version': '2020-10-01',
  'x-request-id': 'req_bench',
};

const STREAM = ['"stream":true', '"stream": true'];
const INCLUDE_USAGE = ['"include_usage":true', '"include_usage": true'];
const has = (body: Buffer, needles: string[]) => needles.some((n) => body.includes(n));

const stats = { requests: 0, streams: 0, inflight: 0, maxInflight: 0 };
let chunkDelayMs = delayFrom(process.env['BENCH_STREAM_CHUNK_DELAY_MS'] ?? '0');

function delayFrom(raw: string): number {
  const v = /^\d+$/.test(raw.trim() || '0') ? Number(raw.trim() || '0') : NaN;
  if (!Number.isSafeInteger(v) || v > 10_000) throw new Error(`a chunk delay must be 0-10000 ms, got ${JSON.stringify(raw)}`);
  return v;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function control(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const url = new URL(req.url ?? '/', 'http://bench');
  if (req.method === 'GET' && url.pathname === '/_bench/stats') return send(res, 200, { ...stats, chunkDelayMs });
  if (req.method === 'POST' && url.pathname === '/_bench/reset-peak') {
    stats.maxInflight = stats.inflight;
    return send(res, 200, { ...stats, chunkDelayMs });
  }
  if (req.method === 'POST' && url.pathname === '/_bench/chunk-delay') {
    try {
      chunkDelayMs = delayFrom(url.searchParams.get('ms') ?? '');
    } catch (err) {
      return send(res, 400, { error: (err as Error).message });
    }
    return send(res, 200, { chunkDelayMs });
  }
  send(res, 404, { error: `no ${req.method} ${url.pathname}` });
}

function chat(body: Buffer, res: ServerResponse): void {
  stats.requests++;
  if (!has(body, STREAM)) {
    res.writeHead(200, JSON_HEADERS).end(COMPLETION);
    return;
  }
  stats.streams++;
  const usage = has(body, INCLUDE_USAGE);
  res.writeHead(200, SSE_HEADERS);
  const delay = chunkDelayMs;
  if (delay === 0) {
    res.end(usage ? WHOLE.usage : WHOLE.plain);
    return;
  }
  // A slow generation: the first write at once (with the headers), then one per delay.
  const writes = usage ? WRITES.usage : WRITES.plain;
  let next = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (res.destroyed) return;
    const write = writes[next++]!;
    if (next === writes.length) res.end(write);
    else {
      res.write(write);
      timer = setTimeout(tick, delay);
    }
  };
  res.once('close', () => clearTimeout(timer));
  tick();
}

const server = createServer((req, res) => {
  const path = req.url ?? '';
  if (path.startsWith('/_bench/')) return control(req, res);
  stats.inflight++;
  if (stats.inflight > stats.maxInflight) stats.maxInflight = stats.inflight;
  res.once('close', () => stats.inflight--);
  if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/chat/completions')) {
    req.resume();
    return send(res, 404, {
      error: { message: `Unknown request URL: ${req.method} ${path}.`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
    });
  }
  if (req.headers.authorization !== 'Bearer sk-bench') {
    req.resume();
    return send(res, 401, {
      error: { message: 'The benchmark upstream expects Authorization: Bearer sk-bench.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
    });
  }
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => chat(parts.length === 1 ? parts[0]! : Buffer.concat(parts), res));
});
// Idle keep-alive connections from a proxy stay open between phases (Node's default is 5 s).
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0;
server.on('error', (err) => {
  console.error(`bench upstream could not start: ${err.message}`);
  process.exit(1);
});
// A deep accept queue: a thousand connections arriving at once must not wait on this server.
server.listen({ port: Number(process.env['PORT'] || 0), host: process.env['HOST'] || '127.0.0.1', backlog: 4096 }, () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(`bench upstream listening on http://${address}:${port}/v1`);
});
const stop = () => server.close(() => process.exit(0)).closeAllConnections();
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
