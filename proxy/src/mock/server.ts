import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { moderations, speech, transcription } from './audio.js';
import { chatCompletions } from './chat.js';
import { embeddings } from './embeddings.js';
import { errorBody, faultBody, sendError, sendJson } from './errors.js';
import { countBytes, readForm } from './forms.js';
import { imageGenerations } from './images.js';
import { getModel, listModels } from './models.js';
import type { HandlerContext, Reply } from './reply.js';
import { attachMockRealtime, type RealtimeStats } from './realtime.js';
import { backgroundResponse, responses } from './responses.js';
import { delayStart, writeSse } from './sse.js';
import { intHeader, isObj, requestHash, type Json } from './util.js';

export interface MockOptions {
  /** Spacing between SSE events, unless a request's `x-mock-chunk-delay-ms` says otherwise. */
  chunkDelayMs?: number;
  /** Delay before response headers, unless a request's `x-mock-latency-ms` says otherwise. */
  latencyMs?: number;
}

export interface MockUpstream {
  /** Base URL ending in /v1, ready for `new OpenAI({ baseURL })`. */
  url: string;
  port: number;
  /** Requests received per 'METHOD /path', e.g. 'POST /v1/chat/completions'. */
  counts(): Record<string, number>;
  /** All requests, or those to one path ('/v1/embeddings', '/embeddings' or 'POST /v1/embeddings'). */
  total(path?: string): number;
  /** SSE responses still being written; drops to 0 once clients that left are noticed. */
  openStreams(): number;
  /** Realtime WebSocket sessions open now, and every handshake seen. */
  realtime: RealtimeStats;
  reset(): void;
  close(): Promise<void>;
}

type Handler = (body: Json, ctx: HandlerContext, req: Request) => Reply;

function pathOf(req: Request): string {
  return req.originalUrl.split('?')[0] ?? req.originalUrl;
}

interface Stats {
  counts: Map<string, number>;
  openStreams: number;
  realtime: RealtimeStats;
}

function buildApp(opts: MockOptions, stats: Stats): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  app.use((req, res, next) => {
    const key = `${req.method} ${pathOf(req)}`;
    stats.counts.set(key, (stats.counts.get(key) ?? 0) + 1);
    res.locals.startedAt = Date.now();
    next();
  });
  app.use(express.json({ limit: '50mb' }));

  // Known routes only, so an unknown path is a 404 even without a key, as with the real API.
  const gate = async (req: Request, res: Response, next: NextFunction) => {
    const body: unknown = req.body ?? {};
    const hash = requestHash(req.method, pathOf(req), body);
    res.locals.hash = hash;
    res.setHeader('x-request-id', `req_${hash.slice(0, 32)}`);
    res.setHeader('openai-version', '2020-10-01');
    res.setHeader('openai-organization', 'mock-org');
    res.setHeader('x-ratelimit-limit-requests', '10000');
    res.setHeader('x-ratelimit-remaining-requests', '9999');
    res.setHeader('x-ratelimit-reset-requests', '6ms');

    if (!(await delayStart(res, intHeader(req, 'x-mock-latency-ms') ?? opts.latencyMs ?? 0))) return;

    const auth = req.get('authorization');
    if (!auth || !/^Bearer\s+\S+/i.test(auth)) {
      const message = auth
        ? 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.'
        : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";
      return sendError(res, 401, errorBody(message, 'invalid_request_error', null, 'invalid_api_key'));
    }
    const fault = intHeader(req, 'x-mock-error');
    if (fault !== undefined && fault >= 400 && fault <= 599) return sendError(res, fault, faultBody(fault));
    next();
  };

  const route = (handler: Handler) => async (req: Request, res: Response) => {
    const body = isObj(req.body) ? req.body : {};
    const ctx: HandlerContext = { hash: res.locals.hash as string, cachedTokens: intHeader(req, 'x-mock-cached-tokens') ?? 0 };
    await send(req, res, handler(body, ctx, req));
  };
  /** Multipart endpoints: the form is read as it streams (file bytes counted, never kept). */
  const formRoute = (handler: (form: Awaited<ReturnType<typeof readForm>>, req: Request) => Reply) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      await send(req, res, handler(await readForm(req), req));
    } catch (err) {
      next(Object.assign(err as Error, { status: 400 }));
    }
  };
  const send = async (req: Request, res: Response, reply: Reply) => {
    const abortAfter = intHeader(req, 'x-mock-abort-after');
    switch (reply.kind) {
      case 'bytes':
        res.status(200).setHeader('content-type', reply.contentType);
        return void res.end(reply.body);
      case 'error':
        return sendError(res, reply.status, reply.body);
      case 'json':
        // A JSON reply has no events to count: the abort fault resets the connection instead.
        if (abortAfter !== undefined) return void req.socket.destroy();
        return sendJson(res, reply.status ?? 200, reply.body);
      case 'sse':
        stats.openStreams++;
        try {
          return await writeSse(res, reply.events, {
            delayMs: intHeader(req, 'x-mock-chunk-delay-ms') ?? opts.chunkDelayMs ?? 0,
            abortAfter,
            errorAfter: intHeader(req, 'x-mock-stream-error-after'),
          });
        } finally {
          stats.openStreams--;
        }
    }
  };

  app.post('/v1/chat/completions', gate, route(chatCompletions));
  app.post('/v1/responses', gate, route((b, c) => responses(b, c)));
  app.post('/v1/embeddings', gate, route(embeddings));
  app.post('/v1/images/generations', gate, route(imageGenerations));
  app.get('/v1/responses/:id', gate, route((_b, c, req) => backgroundResponse(String(req.params.id), req.query['stream'] === 'true', c)));
  app.post('/v1/audio/speech', gate, route(speech));
  app.post('/v1/audio/transcriptions', gate, formRoute((form) => transcription(form, false)));
  app.post('/v1/audio/translations', gate, formRoute((form) => transcription(form, true)));
  app.post('/v1/moderations', gate, route(moderations));
  app.post('/v1/images/edits', gate, formRoute((form) => imageGenerations({ ...form.fields, n: Number(form.fields['n'] ?? 1) }, { hash: 'edit', cachedTokens: 0 })));
  app.get('/v1/chat/completions', gate, route(() => ({ kind: 'json', body: { object: 'list', data: [], first_id: null, last_id: null, has_more: false } })));
  // Files: the upload is streamed through and counted, as large as the client sends it.
  app.post('/v1/files', gate, formRoute((form) => {
    const file = form.files.find((f) => f.field === 'file');
    return file
      ? { kind: 'json', body: { id: `file-mock${file.bytes}`, object: 'file', bytes: file.bytes, created_at: 1_735_689_600, filename: file.filename, purpose: form.fields['purpose'] ?? 'user_data', status: 'processed' } }
      : { kind: 'error', status: 400, body: errorBody("Missing required parameter: 'file'.", 'invalid_request_error', 'file', 'missing_required_parameter') };
  }));
  app.post('/v1/uploads/:id/parts', gate, async (req, res, next) => {
    try {
      const multipart = /^multipart\//.test(req.get('content-type') ?? '');
      const bytes = multipart ? ((await readForm(req)).files[0]?.bytes ?? 0) : await countBytes(req);
      sendJson(res, 200, { id: `part_mock${bytes}`, object: 'upload.part', created_at: 1_735_689_600, upload_id: req.params.id, bytes });
    } catch (err) {
      next(err);
    }
  });
  app.get('/v1/models', gate, route(listModels));
  app.get('/v1/models/:id', gate, route((_b, _c, req) => getModel(String(req.params.id))));

  app.use((req, res) => {
    sendError(res, 404, errorBody(`Invalid URL (${req.method} ${pathOf(req)})`, 'invalid_request_error'));
  });
  // Malformed JSON bodies and oversize payloads, in the API's error shape.
  app.use((err: { status?: number; statusCode?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status ?? err.statusCode ?? 500;
    if (res.headersSent) return void res.end();
    if (status === 400) {
      return sendError(res, 400, errorBody("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)", 'invalid_request_error'));
    }
    sendError(res, status, status >= 500 ? faultBody(status) : errorBody(err.message ?? 'Bad request', 'invalid_request_error'));
  });
  return app;
}

/** The fake upstream as an express app, for mounting or supertest. */
export function createMockUpstream(opts: MockOptions = {}): express.Express {
  return buildApp(opts, { counts: new Map(), openStreams: 0, realtime: { sessions: 0, handshakes: [] } });
}

/** Starts the fake upstream on a real port (default: any free port on 127.0.0.1). */
export async function startMockUpstream(opts: MockOptions & { port?: number; host?: string } = {}): Promise<MockUpstream> {
  const stats: Stats = { counts: new Map(), openStreams: 0, realtime: { sessions: 0, handshakes: [] } };
  const { counts } = stats;
  const app = buildApp(opts, stats);
  const host = opts.host ?? '127.0.0.1';
  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  attachMockRealtime(server, stats.realtime);
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/v1`,
    port,
    counts: () => Object.fromEntries(counts),
    total(path) {
      let sum = 0;
      for (const [key, n] of counts) {
        const p = key.slice(key.indexOf(' ') + 1);
        if (path === undefined || key === path || p === path || p === `/v1${path}`) sum += n;
      }
      return sum;
    },
    openStreams: () => stats.openStreams,
    realtime: stats.realtime,
    reset: () => counts.clear(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets (and streams still in flight) would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
