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
import {
  StreamBroadcaster,
  analyseStream,
  sseErrorEvent,
  isCompleteJson,
  replayableHeaders,
  sendStored,
  sseForRequest,
  streamKindOf,
  stripChatUsage,
  wantsUsage,
  type StoredResponse,
} from '../sse/index.js';
import { fromCompletionUsage, fromResponseUsage, usageFromJson } from '../usage/extract.js';
import type { Usage } from '../usage/types.js';
import { clientAbortedOutcome, recordCall, upstreamCost, type CallOutcome } from './callRecord.js';
import { forward, prepareRequest, type PreparedRequest, type ResponseTap, type TapEnd } from './passthrough.js';
import { ClientAbortedError } from './body.js';
import { callerGone } from './callerGone.js';
import { sendSharedFailure } from './sharedFailure.js';
import { newCallContext, type CallContext } from './requestContext.js';
import { hasInexactNumber, parseExact } from './jsonText.js';
import { SseEventSplitter, SseObserver, hideInjectedUsage } from './sseObserver.js';

/** What one forwarded call produced, as far as caches care. */
interface Recorded {
  status: number;
  headers: Record<string, string>;
  contentType: string;
  /** Raw upstream SSE text (with any usage the proxy asked for). */
  sseText?: string;
  json?: unknown;
  /** The JSON answer's exact text. */
  text?: string;
  complete: boolean;
  usage?: Usage;
}

/** What the caller was sent, with the form the idempotency store keeps for replaying it. */
interface Served {
  outcome: CallOutcome;
  /** Undefined when what was sent may not be replayed (a cut stream, nothing sent). */
  stored?: StoredResponse;
}

/** The response as the caller saw it (the proxy's own usage chunk hidden again). */
function storedFromRecording(rec: Recorded, injectedUsage: boolean): StoredResponse | undefined {
  if (rec.status === 0) return undefined;
  const stored: StoredResponse = { status: rec.status, headers: rec.headers, contentType: rec.contentType };
  if (rec.sseText !== undefined) {
    if (!rec.complete) return undefined;
    stored.sseText = injectedUsage ? stripChatUsage(rec.sseText) : rec.sseText;
  } else if (rec.json !== undefined) {
    stored.bodyJson = rec.json;
    if (rec.text !== undefined) stored.bodyText = rec.text;
  }
  else stored.bodyText = '';
  return stored;
}

/** Settles a request's Idempotency-Key with what its caller is being sent. */
type Finish = (served: Served) => Promise<void>;

/** What the caller is being sent, as known when its upstream answer has ended (before the last byte). */
function servedOfRecording(rec: Recorded, end: TapEnd, cacheStatus: 'miss' | 'bypass', injectedUsage: boolean): Served {
  return {
    outcome: {
      status: rec.status,
      usage: end.usage,
      cacheStatus,
      errorType: rec.status >= 400 ? `upstream_${rec.status}` : null,
      ...(end.responseModel ? { responseModel: end.responseModel } : {}),
    },
    stored: storedFromRecording(rec, injectedUsage),
  };
}

function recorder(): { tap: ResponseTap; result: Recorded } {
  const result: Recorded = { status: 0, headers: {}, contentType: '', complete: false };
  const chunks: string[] = [];
  const tap: ResponseTap = {
    onHead(status, headers) {
      result.status = status;
      result.headers = replayableHeaders(headers);
      // A shared rate-limit or overload answer must keep telling its receivers when to retry.
      const retryAfter = headers['retry-after'];
      if (status >= 400 && typeof retryAfter === 'string') result.headers['retry-after'] = retryAfter;
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
      result.text = end.text;
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
  const idempotency = new IdempotencyStore(deps.pool, { wakeups: deps.wakeups });
  const cache = new ResponseCache(deps.pool, { lruEntries: deps.config.RESPONSE_CACHE_LRU_ENTRIES });
  const flights = new SingleFlight(deps.pool, deps.instanceId, { waitMs: deps.config.COALESCE_WAIT_MS, wakeups: deps.wakeups });


  /** Forward with the response cache applied (policy enabled). */
  async function cached(req: Request, res: Response, prepared: PreparedRequest, policy: CachePolicy, finish?: Finish): Promise<Served> {
    const { ctx } = prepared;
    const kind = streamKindOf(ctx.path);
    const key = responseCacheKey(ctx.tenant, ctx.path, exactBody(ctx));
    const lookup = async () => (policy.lookup ? (await cache.get(ctx.tenant, key, { maxAgeSeconds: policy.maxAgeSeconds }))?.entry : undefined);
    if (policy.lookup) {
      const hit = await cache.get(ctx.tenant, key, { maxAgeSeconds: policy.maxAgeSeconds });
      if (hit) return serveEntry(res, ctx, hit.entry, hit.ageSeconds, 'HIT', 'hit');
    }
    if (policy.onlyIfCached) {
      const e = new ProxyError(504, 'No cached response is available (Cache-Control: only-if-cached).', 'invalid_request_error', 'cache_miss', null, false);
      res.setHeader('x-tollgate-cache', 'MISS');
      sendError(res, e);
      return { outcome: { status: 504, usage: undefined, cacheStatus: 'miss', errorType: 'cache_miss' } };
    }
    /** Stores a complete, successful answer as the entry for this request. */
    const store = async (result: Recorded, end: TapEnd): Promise<CacheEntry | undefined> => {
      const body = result.sseText !== undefined ? analyseStream(kind, result.sseText) : undefined;
      const complete =
        result.status >= 200 && result.status < 300 && result.complete &&
        (body ? body.complete && body.json !== undefined : isCompleteJson(kind, result.status, result.json));
      if (!complete || !policy.store) return undefined;
      try {
        return await cache.put({
          tenant: ctx.tenant,
          key,
          path: ctx.path.split('?')[0]!.replace(/^\/v1(?=\/)/, ''),
          endpoint: ctx.endpoint,
          model: ctx.model ?? '(none)',
          status: result.status,
          headers: result.headers,
          bodyJson: body ? body.json : result.json,
          bodyText: body ? undefined : result.text,
          sseText: result.sseText,
          usage: body ? body.usage : (result.json as { usage?: unknown } | undefined)?.usage,
          costUsd: upstreamCost(deps, ctx, end),
          ttlSeconds: policy.ttlSeconds,
        });
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message, requestId: ctx.requestId }, 'response cache write failed');
        return undefined;
      }
    };
    const produce = async (live?: StreamBroadcaster): Promise<{ entry?: CacheEntry; served: Served }> => {
      const { tap, result } = recorder();
      let entry: CacheEntry | undefined;
      const liveTap: ResponseTap = {
        onHead: tap.onHead,
        onChunk: (t) => {
          tap.onChunk!(t);
          live?.write(t);
        },
        onEnd: tap.onEnd,
        // The entry (and a key's stored answer) exist before the caller has its last byte.
        beforeEnd: async (end) => {
          entry = await store(result, end);
          await finish?.(servedOfRecording(result, end, 'miss', prepared.injectedUsage));
        },
        keepUpstream: () => (live?.subscribers ?? 0) > 0,
      };
      res.setHeader('x-tollgate-cache', 'MISS');
      let outcome: CallOutcome;
      try {
        outcome = await forward(deps, req, res, prepared, liveTap);
      } catch (err) {
        live?.fail(err);
        throw err;
      }
      if (live) result.complete ? live.end() : live.fail(new Error('upstream stream did not complete'));
      return { entry, served: { outcome: { ...outcome, cacheStatus: 'miss' }, stored: storedFromRecording(result, prepared.injectedUsage) } };
    };
    // A `no-cache` refresh runs as a flight too (its lookup finds nothing, so it produces): a
    // request sent right after its answer, while the new entry is still being written, joins it.
    let piped: Promise<'ended' | 'failed' | 'closed'> | undefined;
    const flight = await flights.run('response_cache', `${ctx.tenant}:${key}`, {
      lookup: async () => {
        const entry = await lookup();
        return entry ? { entry, served: undefined as unknown as Served } : undefined;
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
    if (flight.role === 'owner') return flight.value.served;
    const entry = flight.value.entry;
    if (piped) {
      const how = await piped;
      if (how === 'closed') ctx.clientAborted = true;
      return {
        outcome: { status: 200, usage: entry ? usageOfEntry(entry) : undefined, cacheStatus: 'coalesced', savedUsd: entry ? entry.costUsd : 0, errorType: how === 'ended' ? null : `coalesced_${how}` },
        stored: entry && how === 'ended' ? storedForEntry(ctx, entry) : undefined,
      };
    }
    if (entry) return serveEntry(res, ctx, entry, 0, 'HIT', 'coalesced');
    const ownerAnswer = flight.value.served?.stored;
    if (ownerAnswer && ownerAnswer.status >= 400) {
      // The owner in this process got an upstream error (a 429, a 5xx): every caller it stood for
      // gets that same answer, rather than each retrying upstream at once.
      return { outcome: sendSharedFailure(res, ctx, ownerAnswer, { 'x-tollgate-cache': 'MISS' }) };
    }
    // Nothing to share (the owner was in another process, or its stream was cut): our own attempt.
    return (await produce()).served;
  }

  /** The entry's upstream usage (either API's shape), details included, for hit and coalesced rows. */
  function usageOfEntry(entry: CacheEntry): Usage | undefined {
    return fromCompletionUsage(entry.usage) ?? fromResponseUsage(entry.usage);
  }

  /** The usage a stored answer reported, so replay rows carry the tokens they stand for. */
  function usageOfStored(ctx: CallContext, stored: StoredResponse): Usage | undefined {
    if (stored.status >= 400) return undefined;
    if (stored.sseText !== undefined) {
      const observer = new SseObserver();
      observer.feed(stored.sseText);
      return observer.usage;
    }
    if (stored.bodyJson !== undefined) {
      const u = usageFromJson(ctx.endpoint, stored.bodyJson, ctx.json);
      return u.source === 'none' ? undefined : u;
    }
    return undefined;
  }

  /** A cache entry in the shape this request asked for: its event stream, or its JSON. */
  function storedForEntry(ctx: CallContext, entry: CacheEntry): StoredResponse {
    const kind = streamKindOf(ctx.path);
    if (ctx.stream && (kind === 'chat' || kind === 'responses')) {
      return { status: entry.status, headers: entry.headers, contentType: 'text/event-stream; charset=utf-8', sseText: sseForRequest(kind, entry, { includeUsage: wantsUsage(ctx.json) }) };
    }
    return { status: entry.status, headers: entry.headers, contentType: 'application/json', bodyJson: entry.bodyJson, bodyText: entry.bodyText };
  }

  function serveEntry(res: Response, ctx: CallContext, entry: CacheEntry, age: number, header: string, status: 'hit' | 'coalesced'): Served {
    const stored = storedForEntry(ctx, entry);
    ctx.firstByteAt = performance.now();
    sendStored(res, stored, { 'x-tollgate-cache': header, age: String(age) });
    return { outcome: { status: entry.status, usage: usageOfEntry(entry), cacheStatus: status, savedUsd: entry.costUsd }, stored };
  }

  /**
   * Idempotency-Key on a POST: replay, refuse (422, or 409 after IDEMPOTENCY_WAIT_MS), wait, or run
   * once and store. Callers waiting here on a failed attempt (429, 5xx) share its answer.
   */
  async function idempotent(res: Response, prepared: PreparedRequest, key: string, run: (finish: Finish) => Promise<Served>): Promise<CallOutcome> {
    const { ctx } = prepared;
    const keyHash = idempotencyKeyHash(key);
    const fingerprint = requestFingerprint(ctx.method, ctx.path.split('?')[0]!, exactBody(ctx) ?? ctx.bodyDigest ?? null);
    const r = await idempotency.acquire(
      {
        tenant: ctx.tenant,
        requestHash: keyHash,
        keyHash,
        fingerprint,
        method: ctx.method,
        path: ctx.path.split('?')[0]!,
        endpoint: ctx.endpoint,
        ttlSeconds: deps.config.IDEMPOTENCY_TTL_SECONDS,
      },
      deps.config.IDEMPOTENCY_WAIT_MS,
      callerGone(res),
    );
    // The caller left while it waited: nobody to answer, nothing to run upstream.
    if (r.kind === 'abandoned') return clientAbortedOutcome(ctx);
    if (r.kind === 'mismatch') throw keyMismatchError();
    if (r.kind === 'in_progress') throw keyInProgressError();
    if (r.kind === 'failed') return sendSharedFailure(res, ctx, r.stored);
    if (r.kind === 'replay') {
      ctx.firstByteAt = performance.now();
      sendStored(res, r.stored, { 'idempotent-replayed': 'true', age: String(r.ageSeconds) });
      return {
        status: r.stored.status,
        usage: r.usage ?? usageOfStored(ctx, r.stored),
        cacheStatus: r.waited ? 'coalesced' : 'idempotent_replay',
        savedUsd: r.costUsd,
        errorType: r.stored.status >= 400 ? `upstream_${r.stored.status}` : null,
      };
    }
    const lease = r.lease;
    // Answers sent from memory (a hit, a shared answer) end before settle runs: from the moment the
    // caller has its answer, a retry is a retry, not a caller waiting on this attempt.
    res.once('finish', () => idempotency.answered(lease));
    let settled = false;
    /** Stores the answer under the key, or frees the key; at most once, before the last byte when it can. */
    const settle = async ({ stored, outcome }: Served): Promise<void> => {
      if (settled) return;
      settled = true;
      // Upstream 5xx, 429 and network failures are not kept, so a retry with the key can succeed.
      const storable = stored && isStorableStatus(stored.status) && !ctx.clientAborted && outcome.errorType !== 'upstream_interrupted';
      if (storable) {
        const cost = outcome.cacheStatus === 'miss' || outcome.cacheStatus === 'bypass' ? upstreamCost(deps, ctx, outcome) : (outcome.savedUsd ?? null);
        // The usage goes with it: a replayed stream may have had its usage chunk hidden from the caller.
        await idempotency.complete(lease, stored, cost, outcome.usage).catch((err: Error) => {
          deps.logger.warn({ err: err.message, requestId: ctx.requestId }, 'idempotency store failed');
        });
      } else {
        // An upstream answer (429, 5xx) goes to those waiting on this attempt; an abort or a cut stream does not.
        const failure = stored && !ctx.clientAborted && outcome.errorType !== 'upstream_interrupted' ? stored : undefined;
        await idempotency.release(lease, failure).catch(() => undefined);
      }
    };
    let result: Served;
    try {
      result = await run(settle);
    } catch (err) {
      if (!settled) await idempotency.release(lease).catch(() => undefined);
      settled = true;
      throw err;
    }
    await settle(result);
    return result.outcome;
  }

  const handler = (async (req: Request, res: Response) => {
    const ctx = newCallContext(req);
    res.setHeader('x-tollgate-request-id', ctx.requestId);
    let outcome: CallOutcome;
    try {
      const key = req.method === 'POST' ? parseIdempotencyKey(req.headersDistinct['idempotency-key']) : undefined;
      const prepared = await prepareRequest(req, ctx, deps.config.BODY_LIMIT_BYTES);
      const policy = req.method === 'POST' && ctx.json ? cachePolicy(ctx.path, req.headers, deps.config) : undefined;
      const serve = async (finish?: Finish): Promise<Served> => {
        if (policy?.enabled) return cached(req, res, prepared, policy, finish);
        res.setHeader('x-tollgate-cache', 'BYPASS');
        if (!key) return { outcome: await forward(deps, req, res, prepared) };
        const { tap, result } = recorder();
        const keyed: ResponseTap = { ...tap, beforeEnd: (end) => finish?.(servedOfRecording(result, end, 'bypass', prepared.injectedUsage)) ?? Promise.resolve() };
        const o = await forward(deps, req, res, prepared, keyed);
        return { outcome: o, stored: storedFromRecording(result, prepared.injectedUsage) };
      };
      if (key) {
        outcome = await idempotent(res, prepared, key, serve);
      } else {
        outcome = (await serve()).outcome;
      }
    } catch (err) {
      if (err instanceof ClientAbortedError) {
        res.destroy();
        recordCall(deps, ctx, clientAbortedOutcome(ctx));
        return;
      }
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

/**
 * The body as requests are compared for the cache key and idempotency fingerprint: the parsed
 * JSON, except that numbers a double would round keep their literal, so requests differing only
 * in a 20-digit seed are different requests.
 */
function exactBody(ctx: CallContext): unknown {
  return ctx.jsonText !== undefined && hasInexactNumber(ctx.jsonText) ? parseExact(ctx.jsonText) : ctx.json;
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
        // An error event makes the SDK raise instead of returning a silently cut answer.
        if (!res.writableEnded) res.end(sseErrorEvent('The upstream stream this request was coalesced with failed.'));
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
