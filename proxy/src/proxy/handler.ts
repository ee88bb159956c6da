import type { Request, RequestHandler, Response } from 'express';
import { cachePolicy, responseCacheKey, ResponseCache, type CacheEntry, type CachePolicy } from '../cache/index.js';
import { CoalesceTimeoutError, SingleFlight } from '../coalesce/index.js';
import type { AppDeps } from '../deps.js';
import { ProxyError, sendError } from '../errors.js';
import {
  IdempotencyStore,
  idempotencyKeyHash,
  isStorableStatus,
  keyInProgressError,
  keyMismatchError,
  parseIdempotencyKey,
  requestFingerprint,
} from '../idempotency/index.js';
import { costUsd } from '../pricing/cost.js';
import {
  StreamBroadcaster,
  analyseStream,
  isCompleteJson,
  replayableHeaders,
  sendStored,
  sseForRequest,
  streamKindOf,
  stripChatUsage,
  wantsUsage,
  type StoredResponse,
} from '../sse/index.js';
import type { Usage } from '../usage/types.js';
import { recordCall, type CallOutcome } from './callRecord.js';
import { forward, prepareRequest, type PreparedRequest, type ResponseTap } from './passthrough.js';
import { newCallContext, type CallContext } from './requestContext.js';
import { SseEventSplitter, hideInjectedUsage } from './sseObserver.js';

/** What one forwarded call produced, as far as caches care. */
interface Recorded {
  status: number;
  headers: Record<string, string>;
  contentType: string;
  /** Raw upstream SSE text (with any usage the proxy asked for). */
  sseText?: string;
  json?: unknown;
  complete: boolean;
  usage?: Usage;
}

function recorder(): { tap: ResponseTap; result: Recorded } {
  const result: Recorded = { status: 0, headers: {}, contentType: '', complete: false };
  const chunks: string[] = [];
  const tap: ResponseTap = {
    onHead(status, headers) {
      result.status = status;
      result.headers = replayableHeaders(headers);
      const ct = headers['content-type'];
      result.contentType = (Array.isArray(ct) ? ct[0] : ct) ?? '';
    },
    onChunk(text) {
      chunks.push(text);
    },
    onEnd(end) {
      result.complete = end.complete;
      result.usage = end.usage;
      result.json = end.json;
      if (chunks.length) result.sseText = chunks.join('');
    },
  };
  return { tap, result };
}

/**
 * The `/v1/*` handler: plain passthrough, plus, when the caller asks for them, Idempotency-Key
 * (replay a stored first answer) and the exact-match response cache, both with single flight so
 * concurrent duplicates reach upstream once. No database round trip happens before forwarding a
 * request that asks for neither.
 */
export function proxyHandler(deps: AppDeps): RequestHandler & { close(): Promise<void> } {
  const idempotency = new IdempotencyStore(deps.pool);
  const cache = new ResponseCache(deps.pool, { lruEntries: deps.config.RESPONSE_CACHE_LRU_ENTRIES });
  const flights = new SingleFlight(deps.pool, deps.instanceId, { waitMs: deps.config.COALESCE_WAIT_MS });

  const costOf = (ctx: CallContext, usage: Usage | undefined): number | null =>
    usage && usage.source !== 'none' && ctx.model ? costUsd(deps.prices, ctx.model, usage) : null;

  /** Forward with the response cache applied (policy enabled). */
  async function cached(req: Request, res: Response, prepared: PreparedRequest, policy: CachePolicy): Promise<CallOutcome> {
    const { ctx } = prepared;
    const kind = streamKindOf(ctx.path);
    const key = responseCacheKey(ctx.tenant, ctx.path, ctx.json);
    const lookup = async () => (policy.lookup ? (await cache.get(ctx.tenant, key, { maxAgeSeconds: policy.maxAgeSeconds }))?.entry : undefined);
    if (policy.lookup) {
      const hit = await cache.get(ctx.tenant, key, { maxAgeSeconds: policy.maxAgeSeconds });
      if (hit) return serveEntry(res, ctx, hit.entry, hit.ageSeconds, 'HIT', 'hit');
    }
    if (policy.onlyIfCached) {
      const e = new ProxyError(504, 'No cached response is available (Cache-Control: only-if-cached).', 'invalid_request_error', 'cache_miss', null, false);
      sendError(res, e);
      return { status: 504, usage: undefined, cacheStatus: 'miss', errorType: 'cache_miss' };
    }
    const produce = async (live?: StreamBroadcaster): Promise<{ entry?: CacheEntry; outcome: CallOutcome }> => {
      const { tap, result } = recorder();
      const liveTap: ResponseTap = {
        onHead: tap.onHead,
        onChunk: (t) => {
          tap.onChunk!(t);
          live?.write(t);
        },
        onEnd: tap.onEnd,
      };
      res.setHeader('x-tollgate-cache', 'MISS');
      let outcome: CallOutcome;
      try {
        outcome = await forward(deps, req, res, prepared, liveTap);
      } catch (err) {
        live?.fail(err);
        throw err;
      }
      let entry: CacheEntry | undefined;
      const body = result.sseText !== undefined ? analyseStream(kind, result.sseText) : undefined;
      const complete =
        result.status >= 200 && result.status < 300 && result.complete &&
        (body ? body.complete && body.json !== undefined : isCompleteJson(kind, result.status, result.json));
      if (complete && policy.store) {
        try {
          entry = await cache.put({
            tenant: ctx.tenant,
            key,
            path: ctx.path.split('?')[0]!.replace(/^\/v1(?=\/)/, ''),
            endpoint: ctx.endpoint,
            model: ctx.model ?? '(none)',
            status: result.status,
            headers: result.headers,
            bodyJson: body ? body.json : result.json,
            sseText: result.sseText,
            usage: body ? body.usage : (result.json as { usage?: unknown } | undefined)?.usage,
            costUsd: costOf(ctx, outcome.usage),
            ttlSeconds: policy.ttlSeconds,
          });
        } catch (err) {
          deps.logger.warn({ err: (err as Error).message, requestId: ctx.requestId }, 'response cache write failed');
        }
      }
      if (live) result.complete ? live.end() : live.fail(new Error('upstream stream did not complete'));
      return { entry, outcome: { ...outcome, cacheStatus: 'miss' } };
    };
    if (!policy.lookup) return (await produce()).outcome; // no-cache: refresh without waiting on others
    let piped: Promise<'ended' | 'failed' | 'closed'> | undefined;
    const flight = await flights.run('response_cache', `${ctx.tenant}:${key}`, {
      lookup: async () => {
        const entry = await lookup();
        return entry ? { entry, outcome: undefined as unknown as CallOutcome } : undefined;
      },
      produce: async (f) => {
        const live = ctx.stream ? new StreamBroadcaster() : undefined;
        if (live) f.setLive(live);
        return produce(live);
      },
      onLive: (live) => {
        if (ctx.stream && live instanceof StreamBroadcaster) piped = pipeLive(res, live, wantsUsage(ctx.json));
      },
    });
    if (flight.role === 'owner') return flight.value.outcome;
    const entry = flight.value.entry;
    if (piped) {
      const how = await piped;
      return { status: 200, usage: entry ? usageOfEntry(entry) : undefined, cacheStatus: 'coalesced', savedUsd: entry?.costUsd ?? 0, errorType: how === 'ended' ? null : `coalesced_${how}` };
    }
    if (entry) return serveEntry(res, ctx, entry, 0, 'HIT', 'coalesced');
    // The owner got an answer that may not be shared (an error): make our own attempt.
    return (await produce()).outcome;
  }

  function usageOfEntry(entry: CacheEntry): Usage | undefined {
    const u = entry.usage as Record<string, number> | undefined;
    if (!u) return undefined;
    const prompt = u['prompt_tokens'] ?? u['input_tokens'] ?? 0;
    const completion = u['completion_tokens'] ?? u['output_tokens'] ?? 0;
    return { promptTokens: prompt, completionTokens: completion, cachedTokens: 0, reasoningTokens: 0, totalTokens: prompt + completion, source: 'reported' };
  }

  function serveEntry(res: Response, ctx: CallContext, entry: CacheEntry, age: number, header: string, status: 'hit' | 'coalesced'): CallOutcome {
    const kind = streamKindOf(ctx.path);
    const extra = { 'x-tollgate-cache': header, age: String(age) };
    ctx.firstByteAt = performance.now();
    if (ctx.stream && (kind === 'chat' || kind === 'responses')) {
      sendStored(res, { status: entry.status, headers: entry.headers, contentType: 'text/event-stream; charset=utf-8', sseText: sseForRequest(kind, entry, { includeUsage: wantsUsage(ctx.json) }) }, extra);
    } else {
      sendStored(res, { status: entry.status, headers: entry.headers, contentType: 'application/json', bodyJson: entry.bodyJson }, extra);
    }
    return { status: entry.status, usage: usageOfEntry(entry), cacheStatus: status, savedUsd: entry.costUsd ?? 0 };
  }

  /** Idempotency-Key on a POST: replay, refuse, wait, or run once and store. */
  async function idempotent(req: Request, res: Response, prepared: PreparedRequest, key: string, run: () => Promise<{ outcome: CallOutcome; recorded?: Recorded }>): Promise<CallOutcome> {
    const { ctx } = prepared;
    const keyHash = idempotencyKeyHash(key);
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const r = await idempotency.acquire(
      {
        tenant: ctx.tenant,
        requestHash: keyHash,
        keyHash,
        fingerprint: requestFingerprint(ctx.method, ctx.path.split('?')[0]!, ctx.json ?? null),
        method: ctx.method,
        path: ctx.path.split('?')[0]!,
        endpoint: ctx.endpoint,
        ttlSeconds: deps.config.IDEMPOTENCY_TTL_SECONDS,
      },
      deps.config.IDEMPOTENCY_WAIT_MS,
      abort.signal,
    );
    if (r.kind === 'mismatch') throw keyMismatchError();
    if (r.kind === 'in_progress') throw keyInProgressError();
    if (r.kind === 'replay') {
      ctx.firstByteAt = performance.now();
      sendStored(res, r.stored, { 'idempotent-replayed': 'true', age: String(r.ageSeconds) });
      return { status: r.stored.status, usage: undefined, cacheStatus: r.waited ? 'coalesced' : 'idempotent_replay', savedUsd: r.costUsd ?? 0 };
    }
    let result: { outcome: CallOutcome; recorded?: Recorded };
    try {
      result = await run();
    } catch (err) {
      await idempotency.release(r.lease).catch(() => undefined);
      throw err;
    }
    const rec = result.recorded;
    const storable = rec && isStorableStatus(rec.status) && !ctx.clientAborted && (rec.sseText === undefined || rec.complete) && result.outcome.errorType !== 'upstream_interrupted';
    if (storable && rec) {
      const stored: StoredResponse = { status: rec.status, headers: rec.headers, contentType: rec.contentType };
      if (rec.sseText !== undefined) stored.sseText = prepared.injectedUsage ? stripChatUsage(rec.sseText) : rec.sseText;
      else if (rec.json !== undefined) stored.bodyJson = rec.json;
      else stored.bodyText = '';
      await idempotency.complete(r.lease, stored, costOf(ctx, result.outcome.usage)).catch((err: Error) => {
        deps.logger.warn({ err: err.message, requestId: ctx.requestId }, 'idempotency store failed');
      });
    } else {
      await idempotency.release(r.lease).catch(() => undefined);
    }
    return result.outcome;
  }

  const handler = (async (req: Request, res: Response) => {
    const ctx = newCallContext(req);
    res.setHeader('x-tollgate-request-id', ctx.requestId);
    let outcome: CallOutcome;
    try {
      const key = req.method === 'POST' ? parseIdempotencyKey(req.headers['idempotency-key']) : undefined;
      const prepared = await prepareRequest(req, ctx, deps.config.BODY_LIMIT_BYTES);
      const policy = req.method === 'POST' && ctx.json ? cachePolicy(ctx.path, req.headers, deps.config) : undefined;
      const plain = async (): Promise<{ outcome: CallOutcome; recorded?: Recorded }> => {
        if (policy?.enabled) return { outcome: await cached(req, res, prepared, policy) };
        res.setHeader('x-tollgate-cache', 'BYPASS');
        const { tap, result } = recorder();
        return { outcome: await forward(deps, req, res, prepared, key ? tap : undefined), recorded: result };
      };
      if (key) {
        // With the cache on as well, the cache itself answers a retry; the key then only
        // serialises concurrent attempts (nothing recorded means the lease is released).
        outcome = await idempotent(req, res, prepared, key, plain);
      } else {
        outcome = (await plain()).outcome;
      }
    } catch (err) {
      const e =
        err instanceof ProxyError
          ? err
          : err instanceof CoalesceTimeoutError
            ? new ProxyError(409, 'An identical request is still in progress; retry shortly.', 'invalid_request_error', 'request_in_progress', null, true)
            : new ProxyError(500, 'Internal proxy error.', 'server_error', 'proxy_error');
      if (!(err instanceof ProxyError) && !(err instanceof CoalesceTimeoutError)) deps.logger.error({ err, requestId: ctx.requestId }, 'proxy error');
      sendError(res, e);
      outcome = { status: e.status, usage: undefined, cacheStatus: 'bypass', errorType: e.code ?? e.type };
    }
    recordCall(deps, ctx, outcome);
  }) as unknown as RequestHandler & { close(): Promise<void> };
  handler.close = async () => {
    flights.close();
    idempotency.close();
    await cache.close();
  };
  return handler;
}

/** Streams a coalesced owner's live upstream SSE to a waiter, hiding usage it did not ask for. */
function pipeLive(res: Response, live: StreamBroadcaster, includeUsage: boolean): Promise<'ended' | 'failed' | 'closed'> {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('x-tollgate-cache', 'HIT');
  res.setHeader('age', '0');
  if (includeUsage) return live.pipeTo(res);
  const splitter = new SseEventSplitter();
  return new Promise((resolve) => {
    res.flushHeaders();
    const unsubscribe = live.subscribe({
      onChunk: (c) => {
        const visible = splitter.push(c).map(hideInjectedUsage).filter((e): e is string => e !== null).join('');
        if (visible && !res.writableEnded) res.write(visible);
      },
      onEnd: () => {
        res.end(splitter.rest());
        resolve('ended');
      },
      onError: () => {
        res.end();
        resolve('failed');
      },
    });
    res.on('close', () => {
      if (!res.writableEnded) {
        unsubscribe();
        resolve('closed');
      }
    });
  });
}
