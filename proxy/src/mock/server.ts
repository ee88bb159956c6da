import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { chatCompletions } from './chat.js';
import { embeddings } from './embeddings.js';
import { errorBody, faultBody, sendError, sendJson } from './errors.js';
import { imageGenerations } from './images.js';
import { getModel, listModels } from './models.js';
import type { HandlerContext, Reply } from './reply.js';
import { responses } from './responses.js';
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
    const reply = handler(body, ctx, req);
    const abortAfter = intHeader(req, 'x-mock-abort-after');
    switch (reply.kind) {
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
  app.post('/v1/responses', gate, route(responses));
  app.post('/v1/embeddings', gate, route(embeddings));
  app.post('/v1/images/generations', gate, route(imageGenerations));
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
  return buildApp(opts, { counts: new Map(), openStreams: 0 });
}

/** Starts the fake upstream on a real port (default: any free port on 127.0.0.1). */
export async function startMockUpstream(opts: MockOptions & { port?: number; host?: string } = {}): Promise<MockUpstream> {
  const stats: Stats = { counts: new Map(), openStreams: 0 };
  const { counts } = stats;
  const app = buildApp(opts, stats);
  const host = opts.host ?? '127.0.0.1';
  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
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
    reset: () => counts.clear(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets (and streams still in flight) would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
