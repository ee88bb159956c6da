import express, { type Express } from 'express';
import { apiRouter } from './api/routes.js';
import type { AppDeps } from './deps.js';
import { ProxyError, sendError } from './errors.js';
import { endpointOf } from './endpoint.js';
import { clientAbortedOutcome, recordCall } from './proxy/callRecord.js';
import { proxyHandler } from './proxy/handler.js';
import { newCallContext } from './proxy/requestContext.js';

/**
 * The HTTP surface: operations endpoints, Tollgate's own `/api`, and every other path passed
 * through to OpenAI. `/v1/*` and bare paths both work because SDKs are configured either way.
 */
export function createApp(deps: AppDeps): Express {
  // Stored responses are replayed byte for byte; express must not add its own ETag.
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await withTimeout(deps.pool.query('SELECT 1'), 2000);
      res.json({ status: 'ready', database: 'ok' });
    } catch (err) {
      res.status(503).json({ status: 'not_ready', database: (err as Error).message });
    }
  });
  app.get('/metrics', async (_req, res) => {
    // Disabled, it is still ours: forwarded, every scrape would be a call upstream and a row.
    if (!deps.config.METRICS_ENABLED) {
      sendError(res, new ProxyError(404, 'Metrics are disabled (METRICS_ENABLED=false).', 'invalid_request_error', 'metrics_disabled', null, false));
      return;
    }
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  app.use('/api', apiRouter(deps));
  // /api is Tollgate's own namespace: an unknown route there is ours to refuse, not upstream's.
  app.use('/api', (req, _res, next) => {
    next(new ProxyError(404, `Unknown Tollgate API route: ${req.method} ${req.originalUrl.split('?')[0]}.`, 'invalid_request_error', 'unknown_route', null, false));
  });
  const proxy = proxyHandler(deps);
  app.use(proxy);
  // Owners of the app (main.ts, tests) call this before closing the pool.
  app.locals['close'] = () => proxy.close();
  // Body-parser and routing errors inside /api end here; nothing reaches express's HTML 500 page.
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string };
    if (e?.type === 'request.aborted') {
      // The caller hung up mid-upload: nobody is left to answer; the row says so.
      const ctx = refusedCallContext(req);
      res.destroy();
      recordCall(deps, ctx, clientAbortedOutcome(ctx));
      return;
    }
    let answer: ProxyError;
    if (e?.type === 'entity.parse.failed') {
      answer = new ProxyError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', 'invalid_json', null, false);
    } else if (e?.type === 'entity.too.large') {
      answer = new ProxyError(413, `Request body exceeds the proxy's limit of ${deps.config.BODY_LIMIT_BYTES} bytes (BODY_LIMIT_BYTES).`, 'invalid_request_error', 'request_too_large', null, false);
    } else if (e instanceof ProxyError) {
      answer = e;
    } else if (e?.type === 'encoding.unsupported' || /^Z_/.test((e as { code?: string })?.code ?? '')) {
      answer = new ProxyError(e.type === 'encoding.unsupported' ? 415 : 400, 'The request body could not be decoded (Content-Encoding).', 'invalid_request_error', 'invalid_content_encoding', null, false);
    } else if (e?.status && e.status >= 400 && e.status < 500) {
      answer = new ProxyError(e.status, e.message ?? 'Bad request.');
    } else {
      deps.logger.error({ err }, 'unhandled error');
      answer = new ProxyError(500, 'Internal proxy error.', 'server_error', 'proxy_error');
    }
    // Requests refused before their route ran still get their one call-log row and request id.
    const ctx = refusedCallContext(req);
    if (!res.headersSent) res.setHeader('x-tollgate-request-id', ctx.requestId);
    sendError(res, answer);
    recordCall(deps, ctx, { status: answer.status, usage: undefined, cacheStatus: 'bypass', errorType: answer.code ?? answer.type });
  });
  return app;
}

/** The context of a request refused before its route ran, named as its route would have named it. */
function refusedCallContext(req: express.Request) {
  const ctx = newCallContext(req);
  ctx.endpoint = endpointOf(req.originalUrl.replace(/^\/api(?=\/)/, ''));
  return ctx;
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
