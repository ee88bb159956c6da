import type { IncomingMessage, ServerResponse } from 'node:http';
import { responseCacheKey, type CacheEntry, type CachePolicy } from '../cache/index.js';
import type { AppDeps } from '../deps.js';
import { CACHE_UNAVAILABLE, UNAVAILABLE } from '../db/health.js';
import { ProxyError, sendError } from '../call/errors.js';
import { upstreamCost } from '../call/record.js';
import { sendSharedFailure } from '../call/sharedFailure.js';
import { sseErrorEvent } from '../call/sse.js';
import type { CallContext } from '../call/context.js';
import type { Served, Settle } from '../idempotency/guard.js';
import { StreamBroadcaster, analyseStream, isCompleteJson, sendStored, sseForRequest, streamKindOf, wantsUsage, type StoredResponse } from '../sse/index.js';
import { fromCompletionUsage, fromResponseUsage } from '../usage/extract.js';
import type { Usage } from '../usage/types.js';
import { forward, type ResponseTap, type TapEnd } from './forward.js';
import { comparableBody, type PreparedRequest } from './prepare.js';
import { forwardBypassingCache, recorder, servedOfRecording, storedFromRecording, type Recorded } from './recording.js';
import { SseEventSplitter, hideInjectedUsage } from './sseObserver.js';

/** One /v1 call with the response cache on: what it is looked up and stored under. */
export interface CachedCall {
  prepared: PreparedRequest;
  policy: CachePolicy;
  key: string;
  /** The database could not be asked: the call is served uncached (its row says cache_unavailable). */
  unavailable?: boolean;
}

export function cachedCall(prepared: PreparedRequest, policy: CachePolicy): CachedCall {
  const { ctx } = prepared;
  return { prepared, policy, key: responseCacheKey(ctx.tenant, ctx.path, comparableBody(ctx)) };
}

/** A stored answer for this request, sent; or a 504 for `only-if-cached`; or undefined: go on. */
export async function lookupCache(deps: AppDeps, res: ServerResponse, call: CachedCall): Promise<Served | undefined> {
  const { ctx } = call.prepared;
  if (call.policy.lookup) {
    const hit = await cacheOptional(deps, call, () => entryFor(deps, call));
    if (hit) return serveEntry(res, ctx, hit.entry, hit.ageSeconds, 'hit');
  }
  if (!call.policy.onlyIfCached) return undefined;
  res.setHeader('x-tollgate-cache', 'MISS');
  sendError(res, new ProxyError({ status: 504, message: 'No cached response is available (Cache-Control: only-if-cached).', code: 'cache_miss', retry: false }));
  return { outcome: { status: 504, usage: undefined, cacheStatus: 'miss', errorType: 'cache_miss' } };
}

/**
 * Identical cache-enabled requests in flight together reach upstream once: the first forwards and
 * stores the entry before its caller's last byte; the others take its live stream (once its head
 * says it is a success), its entry, or its failure as it got it (a 429 with its Retry-After).
 */
export async function forwardThroughFlight(deps: AppDeps, req: IncomingMessage, res: ServerResponse, call: CachedCall, settle: Settle): Promise<Served> {
  // During an outage one call a second tries the database again; the others go uncached at once.
  if (call.unavailable || (!deps.dbHealth.isUp && !deps.dbHealth.worthTrying())) return forwardUncached(deps, req, res, call, settle);
  const { ctx } = call.prepared;
  let piped: Promise<'ended' | 'failed' | 'closed' | 'not_piped'> | undefined;
  // A `no-cache` refresh runs as a flight too (its lookup finds nothing, so it produces): a
  // request sent right after its answer, while the new entry is still being written, joins it.
  const flight = await deps.stores.flights.runUnlessUnavailable(
    'response_cache',
    `${ctx.tenant}:${call.key}`,
    {
      lookup: async () => {
        const found = call.policy.lookup ? await entryFor(deps, call) : undefined;
        return found ? { entry: found.entry, served: undefined } : undefined;
      },
      produce: async (f) => {
        const live = ctx.stream ? new StreamBroadcaster() : undefined;
        if (live) f.setLive(live);
        return produce(deps, req, res, call, settle, live);
      },
      onLive: (live) => {
        if (ctx.stream && live instanceof StreamBroadcaster) piped = pipeLiveOnSuccess(res, live, wantsUsage(ctx.json));
      },
    },
    (err) => err instanceof ProxyError,
  );
  if (!flight) {
    // The flight's bookkeeping failed before anything went upstream: the database is away, and
    // the call is served without the cache rather than failed.
    deps.dbHealth.failed();
    call.unavailable = true;
    deps.logger.debug({ requestId: ctx.requestId }, 'single flight unavailable; serving uncached');
    return forwardUncached(deps, req, res, call, settle);
  }
  if (flight.role === 'owner') return flight.value.served!;
  const entry = flight.value.entry;
  const how = piped ? await piped : 'not_piped';
  if (how !== 'not_piped') {
    if (how === 'closed') ctx.clientAborted = true;
    return {
      outcome: { status: 200, usage: entry ? usageOfEntry(entry) : undefined, cacheStatus: 'coalesced', savedUsd: entry ? entry.costUsd : 0, errorType: how === 'ended' ? null : `coalesced_${how}` },
      stored: entry && how === 'ended' ? storedForEntry(ctx, entry) : undefined,
    };
  }
  if (entry) return serveEntry(res, ctx, entry, 0, 'coalesced');
  const ownerAnswer = flight.value.served?.stored;
  if (ownerAnswer && ownerAnswer.status >= 400) {
    // The owner in this process got an upstream error (a 429, a 5xx): every caller it stood for
    // gets that same answer, rather than each retrying upstream at once.
    return { outcome: sendSharedFailure(res, ctx, ownerAnswer, { 'x-tollgate-cache': 'MISS' }) };
  }
  // Nothing to share (the owner was in another process, or its stream was cut): our own attempt.
  return (await produce(deps, req, res, call, settle)).served!;
}

/** The stored entry for this request, no older than the policy allows. */
function entryFor(deps: AppDeps, call: CachedCall) {
  return deps.stores.responseCache.get(call.prepared.ctx.tenant, call.key, { maxAgeSeconds: call.policy.maxAgeSeconds });
}

/**
 * A cache lookup that may fail: the database being away turns it into "not found" (and marks the
 * call uncached) instead of failing the call. An optimisation never becomes an outage.
 */
async function cacheOptional<T>(deps: AppDeps, call: CachedCall, lookup: () => Promise<T | undefined>): Promise<T | undefined> {
  const found = await deps.dbHealth.attempt(lookup, 'response cache', call.prepared.ctx.requestId);
  if (found !== UNAVAILABLE) return found;
  call.unavailable = true;
  return undefined;
}

/**
 * Forwarded without the cache or single flight (the database is away): the caller gets upstream's
 * answer as usual (an Idempotency-Key still settles, if its store works); the row says
 * cache_unavailable so the hit ratio's gap is explained.
 */
async function forwardUncached(deps: AppDeps, req: IncomingMessage, res: ServerResponse, call: CachedCall, settle: Settle): Promise<Served> {
  const served = await forwardBypassingCache(deps, req, res, call.prepared, settle);
  return { ...served, outcome: { ...served.outcome, errorType: served.outcome.errorType ?? CACHE_UNAVAILABLE } };
}

interface Produced {
  entry?: CacheEntry;
  served?: Served;
}

/** The flight owner's upstream call: forwarded live (to its waiters too), stored before its caller's last byte. */
async function produce(deps: AppDeps, req: IncomingMessage, res: ServerResponse, call: CachedCall, settle: Settle, live?: StreamBroadcaster): Promise<Produced> {
  const { prepared } = call;
  const { tap, result } = recorder();
  let entry: CacheEntry | undefined;
  const liveTap: ResponseTap = {
    onHead: (status, headers) => {
      tap.onHead!(status, headers);
      live?.setHead(status, String(headers['content-type'] ?? ''));
    },
    onChunk: (t) => {
      tap.onChunk!(t);
      live?.write(t);
    },
    onEnd: tap.onEnd,
    beforeEnd: async (end) => {
      entry = await storeEntry(deps, call, result, end);
      await settle(servedOfRecording(result, end, 'miss', prepared.injectedUsage));
    },
    keepUpstream: () => (live?.subscribers ?? 0) > 0,
  };
  res.setHeader('x-tollgate-cache', 'MISS');
  let outcome;
  try {
    outcome = await forward(deps, req, res, prepared, liveTap);
  } catch (err) {
    live?.fail(err);
    throw err;
  }
  if (live) result.complete ? live.end() : live.fail(new Error('upstream stream did not complete'));
  return { entry, served: { outcome: { ...outcome, cacheStatus: 'miss' }, stored: storedFromRecording(result, prepared.injectedUsage) } };
}

/** Stores a complete, successful answer as the entry for this request. */
async function storeEntry(deps: AppDeps, call: CachedCall, result: Recorded, end: TapEnd): Promise<CacheEntry | undefined> {
  const { ctx } = call.prepared;
  const kind = streamKindOf(ctx.path);
  const body = result.sseText !== undefined ? analyseStream(kind, result.sseText) : undefined;
  const complete =
    result.status >= 200 && result.status < 300 && result.complete && (body ? body.complete && body.json !== undefined : isCompleteJson(kind, result.status, result.json));
  if (!complete || !call.policy.store) return undefined;
  try {
    return await deps.stores.responseCache.put({
      tenant: ctx.tenant,
      key: call.key,
      path: ctx.upstreamPath.split('?')[0]!,
      endpoint: ctx.endpoint,
      model: ctx.model ?? '(none)',
      status: result.status,
      headers: result.headers,
      bodyJson: body ? body.json : result.json,
      bodyText: body ? undefined : result.text,
      sseText: result.sseText,
      usage: body ? body.usage : (result.json as { usage?: unknown } | undefined)?.usage,
      costUsd: upstreamCost(deps, ctx, end),
      ttlSeconds: call.policy.ttlSeconds,
    });
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message, requestId: ctx.requestId }, 'response cache write failed');
    return undefined;
  }
}

/** The entry's upstream usage (either API's shape), details included, for hit and coalesced rows. */
function usageOfEntry(entry: CacheEntry): Usage | undefined {
  return fromCompletionUsage(entry.usage) ?? fromResponseUsage(entry.usage);
}

/** A cache entry in the shape this request asked for: its event stream, or its JSON. */
function storedForEntry(ctx: CallContext, entry: CacheEntry): StoredResponse {
  const kind = streamKindOf(ctx.path);
  if (ctx.stream && (kind === 'chat' || kind === 'responses')) {
    return { status: entry.status, headers: entry.headers, contentType: 'text/event-stream; charset=utf-8', sseText: sseForRequest(kind, entry, { includeUsage: wantsUsage(ctx.json) }) };
  }
  return { status: entry.status, headers: entry.headers, contentType: 'application/json', bodyJson: entry.bodyJson, bodyText: entry.bodyText };
}

function serveEntry(res: ServerResponse, ctx: CallContext, entry: CacheEntry, age: number, status: 'hit' | 'coalesced'): Served {
  const stored = storedForEntry(ctx, entry);
  ctx.firstByteAt = performance.now();
  sendStored(res, stored, { 'x-tollgate-cache': 'HIT', age: String(age) });
  return { outcome: { status: entry.status, usage: usageOfEntry(entry), cacheStatus: status, savedUsd: entry.costUsd }, stored };
}

/**
 * Streams a coalesced owner's live upstream SSE to a waiter, hiding usage it did not ask for, once
 * the owner's head says upstream answered with an event stream; an error head (a 429) is not
 * piped: the waiter gets the owner's answer as the owner got it when the flight ends.
 */
async function pipeLiveOnSuccess(res: ServerResponse, live: StreamBroadcaster, includeUsage: boolean): Promise<'ended' | 'failed' | 'closed' | 'not_piped'> {
  const head = await live.head;
  if (!head || head.status >= 300 || !head.contentType.includes('text/event-stream')) return 'not_piped';
  res.setHeader('x-tollgate-cache', 'HIT');
  res.setHeader('age', '0');
  if (includeUsage) return live.pipeTo(res);
  const splitter = new SseEventSplitter();
  return live.pipeTo(res, {
    transform: {
      push: (c) => splitter.push(c).map(hideInjectedUsage).filter((e): e is string => e !== null).join(''),
      rest: () => splitter.rest(),
    },
    // An error event makes the SDK raise instead of returning a silently cut answer.
    errorEvent: () => sseErrorEvent('The upstream stream this request was coalesced with failed.'),
  });
}
