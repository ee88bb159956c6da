import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import { apiRouter } from './api/routes.js';
import { answerThrown } from './call/answer.js';
import { openCall } from './call/context.js';
import { ProxyError, sendError } from './call/errors.js';
import { recordCall } from './call/record.js';
import type { AppDeps } from './deps.js';
import { endpointOf } from './endpoint.js';
import { attachRealtime } from './realtime/upgrade.js';
import { v1Route } from './v1/route.js';

/** The proxy as a request listener (for http.createServer or supertest), with listen() for convenience. */
export interface TollgateApp {
  (req: IncomingMessage, res: ServerResponse): void;
  listen(port: number, host: string, onListening?: (err?: Error) => void): Server;
  /** Calls in progress, for the shutdown in main.ts. */
  inflight: InFlight;
}

/**
 * The calls in progress (operations endpoints aside). On SIGTERM, main.ts ends the streams still
 * open at the grace deadline with an SSE error event, then waits here until every such call has
 * recorded its row, and only then flushes the call log.
 */
export class InFlight {
  private readonly calls = new Map<ServerResponse, Promise<void>>();

  track(res: ServerResponse, done: Promise<void>): void {
    const remove = () => void this.calls.delete(res);
    // A call is over once its response is: its end may still wait for its row (call/lastByte.ts).
    const over = () => (res.writableFinished || res.destroyed ? undefined : new Promise<void>((resolve) => res.once('close', resolve)));
    this.calls.set(res, done.then(over, over).then(remove));
  }

  get size(): number {
    return this.calls.size;
  }

  /** Event-stream answers still being written. */
  openStreams(): ServerResponse[] {
    return [...this.calls.keys()].filter((res) => res.headersSent && !res.writableEnded && String(res.getHeader('content-type') ?? '').includes('text/event-stream'));
  }

  /** Resolves once every tracked call is done, or after `ms`; the number still running. */
  async settled(ms: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.calls.values()), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    return this.calls.size;
  }
}

const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The HTTP surface: operations endpoints and Tollgate's own `/api` (express), and every other path
 * passed through to OpenAI by the /v1 route (`/v1/*` and bare paths both work, because SDKs are
 * configured either way). The /v1 route is dispatched here directly, not through express routing:
 * it is the hot path and has nothing to route.
 */
export function createApp(deps: AppDeps): TollgateApp {
  const own = ownRoutes(deps);
  const v1 = v1Route(deps);
  const inflight = new InFlight();
  const app = ((req: IncomingMessage, res: ServerResponse) => {
    if (isOwnPath(req)) {
      own(req, res);
      // /api routes record their row right after their answer ends: a tick after 'close'.
      if (!isOpsPath(req)) inflight.track(res, new Promise<void>((resolve) => res.once('close', () => setImmediate(resolve))));
    } else inflight.track(res, v1(req, res));
  }) as TollgateApp;
  app.inflight = inflight;
  app.listen = (port, host, onListening) => {
    const server = createServer(app);
    // The Realtime API is a WebSocket: upgrades never reach the request listener.
    attachRealtime(server, deps);
    server.once('error', (err) => onListening?.(err));
    return server.listen(port, host, () => onListening?.());
  };
  return app;
}

function isOpsPath(req: IncomingMessage): boolean {
  return OPS_PATHS.has((req.url ?? '/').split('?')[0]!);
}

function isOwnPath(req: IncomingMessage): boolean {
  const url = req.url ?? '/';
  if (url.charCodeAt(1) !== 0x61 && url.charCodeAt(1) !== 0x68 && url.charCodeAt(1) !== 0x72 && url.charCodeAt(1) !== 0x6d) return false; // a, h, r, m
  const path = url.split('?')[0]!;
  if (path === '/api' || path.startsWith('/api/')) return true;
  return OPS_PATHS.has(path) && (req.method === 'GET' || req.method === 'HEAD');
}

/** Health, readiness, metrics and `/api`, with express's body parsing and routing. */
function ownRoutes(deps: AppDeps): Express {
  // Stored responses are replayed byte for byte; express must not add its own ETag.
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', false);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Readiness is "can serve": plain traffic needs no database (caches and keys degrade, the call
  // log waits in its spool), so an outage is reported in the body and tollgate_database_up, and
  // only draining on SIGTERM takes the replica out of rotation. /healthz is liveness.
  app.get('/readyz', async (_req, res) => {
    let database: string;
    try {
      await withTimeout(deps.pool.query('SELECT 1'), 2000);
      deps.dbHealth.ok();
      database = 'ok';
    } catch (err) {
      deps.dbHealth.failed();
      database = `unavailable: ${(err as Error).message}`;
    }
    const body = { status: deps.draining ? 'draining' : 'ready', database, callLogPending: deps.callLog.pending };
    res.status(deps.draining ? 503 : 200).json(body);
  });
  app.get('/metrics', async (_req, res) => {
    // Disabled, it is still ours: forwarded, every scrape would be a call upstream and a row.
    if (!deps.config.METRICS_ENABLED) {
      sendError(res, new ProxyError({ status: 404, message: 'Metrics are disabled (METRICS_ENABLED=false).', code: 'metrics_disabled' }));
      return;
    }
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  app.use('/api', apiRouter(deps));
  // /api is Tollgate's own namespace: an unknown route there is ours to refuse, not upstream's.
  app.use('/api', (req, _res, next) => {
    next(new ProxyError({ status: 404, message: `Unknown Tollgate API route: ${req.method} ${req.originalUrl.split('?')[0]}.`, code: 'unknown_route' }));
  });
  // Body-parser and routing errors inside /api end here; nothing reaches express's HTML 500 page.
  // Requests refused before their route ran still get their one call-log row and request id.
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const ctx = openCall(req, res, { endpoint: endpointOf(req.originalUrl.replace(/^\/api(?=\/)/, ''), req.method) });
    if ((err as { type?: string })?.type === 'request.aborted') {
      // The caller hung up mid-upload: nobody is left to answer; the row says so.
      ctx.clientAborted = true;
      res.destroy();
    }
    recordCall(deps, ctx, answerThrown(deps, res, ctx, err));
  });
  return app;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
