import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';
import type { AppDeps } from '../deps.js';
import { ClientAbortedError, ProxyError, sendError, serverShuttingDown, upstreamTimeout, upstreamUnreachable, upstreamWrongBody } from '../call/errors.js';
import { clientAbortedOutcome, type CallOutcome } from '../call/record.js';
import type { CallContext } from '../call/context.js';
import { gzipTowardClient } from './compress.js';
import { openSse, sseErrorEvent } from '../call/sse.js';
import { classifyUpstreamError } from '../upstream/client.js';
import { estimateUsage, promptTextOf, usageFromJson } from '../usage/extract.js';
import type { Usage } from '../usage/types.js';
import { TAIL_BYTES, usageFromJsonTail } from '../usage/tail.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { PreparedRequest } from './prepare.js';
import { SseEventSplitter, SseObserver, hideInjectedUsage } from './sseObserver.js';

/** Endpoints whose responses the proxy reads for usage, so it asks upstream for them uncompressed. */
const PARSED = new Set(['chat.completions', 'completions', 'responses', 'embeddings', 'images.generations', 'images.edits', 'moderations', 'audio.transcriptions', 'audio.translations']);
/**
 * Endpoints whose success is always JSON (or an event stream): a 2xx with another body (an HTML
 * page from a broken gateway in front of upstream) is no answer, and is not passed on as one.
 */
const JSON_ONLY = new Set(['chat.completions', 'completions', 'responses', 'embeddings', 'moderations', 'images.generations', 'images.edits']);
/** Largest JSON response kept in memory to read usage from; bigger ones are piped without it. */
const MAX_CAPTURE_BYTES = 16 * 1024 * 1024;
/** Longest the last byte of a cached or keyed answer waits for its bookkeeping. */
const FINISH_WAIT_MS = 2000;

/** How an upstream answer ended, as a tap sees it. */
export interface TapEnd {
  complete: boolean;
  usage: Usage | undefined;
  /** A JSON answer, parsed, and its text exactly as upstream sent it (replays are byte for byte). */
  json?: unknown;
  text?: string;
  /** The answer's model (a dated snapshot), for pricing. */
  responseModel?: string;
}

/** Lets the cache and the Idempotency-Key guard watch the response as it is forwarded. */
export interface ResponseTap {
  onHead?(status: number, headers: Record<string, string | string[] | undefined>): void;
  onChunk?(text: string): void;
  onEnd?(end: TapEnd): void;
  /**
   * Awaited after onEnd and before the caller's last byte: what a retry sent the moment the caller
   * has its answer must find (a cache entry, a stored Idempotency-Key answer) is in place by then.
   */
  beforeEnd?(end: TapEnd): Promise<void>;
  /** Asked when the caller disconnects: true keeps the upstream call going for others. */
  keepUpstream?(): boolean;
}

/**
 * Cancels one upstream call. undici takes an EventEmitter as its signal: an AbortController (an
 * EventTarget) per request cost more than anything else the route allocates.
 */
class UpstreamCancel extends EventEmitter {
  aborted = false;
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/** One forwarded call, from the caller's hang-up watch to the outcome that goes in its row. */
interface Relay {
  deps: AppDeps;
  res: ServerResponse;
  ctx: CallContext;
  prepared: PreparedRequest;
  tap: ResponseTap | undefined;
  upstream: Dispatcher.ResponseData;
  abort: UpstreamCancel;
}

/**
 * Sends the prepared request upstream and relays the answer as it comes: an event stream chunk by
 * chunk, anything else piped with its head and first bytes in one write. Resolves with what to log.
 */
export async function forward(deps: AppDeps, req: IncomingMessage, res: ServerResponse, prepared: PreparedRequest, tap?: ResponseTap): Promise<CallOutcome> {
  const { ctx, body } = prepared;
  const abort = new UpstreamCancel();
  // The caller cannot have its whole answer before this returns: the end of every response waits for
  // its row (call/lastByte.ts), so a hang-up seen here is an abort.
  const onClose = () => {
    if (res.writableFinished) return;
    ctx.clientAborted = true;
    // Coalesced callers may still be reading this upstream stream; then it runs to its end.
    if (!tap?.keepUpstream?.()) abort.abort();
  };
  res.on('close', onClose);
  const headers = upstreamRequestHeaders(req.headers, {
    fallbackApiKey: deps.config.OPENAI_API_KEY,
    identityEncoding: PARSED.has(ctx.endpoint),
    bodyLength: Buffer.isBuffer(body) ? body.length : undefined,
  });
  if (prepared.decodedBody) delete headers['content-encoding'];
  ctx.upstreamSentAt = performance.now();
  deps.metrics.overheadSeconds.observe((ctx.upstreamSentAt - ctx.startedAt) / 1000);
  try {
    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await deps.upstream.send({ method: ctx.method, path: ctx.upstreamPath, headers, body, signal: abort });
    } catch (err) {
      ctx.upstreamEndedAt = performance.now();
      return upstreamFailure(deps, res, ctx, err);
    }
    const relay: Relay = { deps, res, ctx, prepared, tap, upstream, abort };
    const contentType = headerValue(upstream.headers['content-type']) ?? '';
    if (upstream.statusCode >= 200 && upstream.statusCode < 300 && JSON_ONLY.has(ctx.endpoint) && !contentType.includes('json') && !contentType.includes('text/event-stream')) {
      return notJson(relay, contentType);
    }
    return contentType.includes('text/event-stream') ? await relaySse(relay) : await relayBody(relay, contentType);
  } finally {
    res.off('close', onClose);
  }
}

/** The upstream head, passed on: status and headers (hop-by-hop and upstream-only ones dropped). */
function sendHead(r: Relay, keepLength: boolean): void {
  const { upstream, res } = r;
  r.tap?.onHead?.(upstream.statusCode, upstream.headers);
  res.statusCode = upstream.statusCode;
  const out = clientResponseHeaders(upstream.headers, keepLength);
  for (const name in out) res.setHeader(name, out[name]!);
}

function baseOutcome(r: Relay): CallOutcome {
  const status = r.upstream.statusCode;
  return { status, usage: undefined, cacheStatus: 'bypass', upstreamRequestId: headerValue(r.upstream.headers['x-request-id']) ?? null, errorType: status >= 400 ? `upstream_${status}` : null };
}

/**
 * An event stream, chunk by chunk, as it comes. The chunk that completes the answer (a chat
 * stream's `data: [DONE]`, a Responses stream's `response.completed`, an audio stream's `.done`) is
 * the response's end: SDKs stop reading there, so the call is complete there, its bookkeeping (a
 * cache entry, a key's answer) done just before it and its row written just before it goes out.
 * Whatever upstream still sends is read off and dropped (OpenAI sends nothing more).
 */
async function relaySse(r: Relay): Promise<CallOutcome> {
  const { res, ctx, tap, upstream, prepared } = r;
  const outcome = baseOutcome(r);
  sendHead(r, false);
  openSse(res, upstream.statusCode, false);
  // The head leaves with the first events when they came with it (one write, one packet for the
  // caller to read, instead of two; three with the end, for a short stream that came whole), and
  // on the next turn of the event loop when they did not: the caller still has it as soon as
  // upstream sent it. Not when the end is already asked for and held for the row: it goes with it.
  const flushHead = setImmediate(() => res.headersSent || res.destroyed || ctx.lastByte?.ended || res.flushHeaders());
  const observer = new SseObserver();
  const splitter = prepared.injectedUsage ? new SseEventSplitter() : undefined;
  const decoder = new StringDecoder('utf8');
  const body = upstream.body[Symbol.asyncIterator]();
  let last: Buffer | string | undefined;
  try {
    for (let next = await body.next(); !next.done; next = await body.next()) {
      const chunk = next.value as Buffer;
      const text = decoder.write(chunk);
      observer.feed(text);
      tap?.onChunk?.(text);
      const out = splitter ? visibleEvents(splitter.push(text)) : chunk;
      if (observer.finished) {
        last = splitter ? out + splitter.rest() : out;
        break;
      }
      if (out.length) await write(res, ctx, out);
    }
    if (!observer.finished && splitter) last = splitter.rest();
    ctx.upstreamEndedAt = performance.now();
    if (observer.finished) void drainAfterEnd(r, body);
    outcome.responseModel = observer.model;
    outcome.usage = observer.usage ?? (outcome.status < 400 ? estimateUsage(promptTextOf(ctx.json), observer.text) : undefined);
    if (observer.errored) outcome.errorType ??= 'stream_error';
    await endWith(r, { complete: observer.finished && !observer.errored && outcome.status < 300, usage: outcome.usage, responseModel: observer.model }, last);
  } catch (err) {
    ctx.upstreamEndedAt ??= performance.now();
    upstream.body.destroy();
    outcome.usage = observer.usage ?? estimateUsage(promptTextOf(ctx.json), observer.text);
    outcome.responseModel = observer.model;
    // The SDK turns an `error` event into an APIError instead of hanging on a cut stream.
    outcome.errorType = interrupted(r, err, () => res.end(sseErrorEvent('The upstream connection was interrupted.', 'server_error', 'upstream_interrupted')));
    tap?.onEnd?.({ complete: false, usage: outcome.usage });
  } finally {
    clearImmediate(flushHead);
  }
  return outcome;
}

/** The events a caller sees of a stream the proxy asked usage for (hideInjectedUsage). */
function visibleEvents(events: string[]): string {
  return events.map(hideInjectedUsage).filter((e): e is string => e !== null).join('');
}

/** Most of what may follow a stream's end that is read off (then the connection is dropped instead). */
const MAX_AFTER_END_BYTES = 64 * 1024;

/** Reads off the rest of an upstream stream after its answer's end, so its connection can be reused. */
async function drainAfterEnd(r: Relay, body: AsyncIterator<unknown>): Promise<void> {
  let bytes = 0;
  try {
    for (let next = await body.next(); !next.done; next = await body.next()) {
      bytes += (next.value as Buffer).length;
      if (bytes > MAX_AFTER_END_BYTES) return void r.upstream.body.destroy();
    }
  } catch {
    // Cut after the answer was complete: nothing the caller or the row needs.
  }
}

/**
 * Any other answer, piped. Its head goes out with its first bytes (one write for a small JSON
 * answer); a JSON body is kept (up to MAX_CAPTURE_BYTES, then only its tail) to read usage from
 * once the caller has it, or, with bookkeeping to finish first, just before its last byte.
 */
async function relayBody(r: Relay, contentType: string): Promise<CallOutcome> {
  const { res, ctx, tap, upstream } = r;
  const outcome = baseOutcome(r);
  sendHead(r, !r.prepared.injectedUsage);
  const capture = contentType.includes('json');
  const declared = Number(headerValue(upstream.headers['content-length']) ?? NaN);
  // Where the body goes: the caller, or a gzip stream to it when it asked and upstream could not.
  const out: Writable = (PARSED.has(ctx.endpoint) && gzipTowardClient(res, contentType, declared)) || res;
  const captured: Buffer[] = [];
  let bytes = 0;
  // Past MAX_CAPTURE_BYTES only the last TAIL_BYTES are kept: enough to read `usage` from.
  let tail: Buffer | undefined;
  let lastByte: Buffer | undefined;
  try {
    for await (const data of upstream.body) {
      let chunk = data as Buffer;
      bytes += chunk.length;
      if (capture && !tail) {
        captured.push(chunk);
        if (bytes > MAX_CAPTURE_BYTES) tail = Buffer.concat(captured).subarray(-TAIL_BYTES);
      } else if (capture) tail = Buffer.concat([tail!, chunk]).subarray(-TAIL_BYTES);
      if (tap?.beforeEnd) {
        // The last byte waits for the bookkeeping: with Content-Length, a client has its answer
        // at that byte, before the response formally ends.
        if (lastByte) chunk = Buffer.concat([lastByte, chunk]);
        lastByte = chunk.subarray(-1);
        chunk = chunk.subarray(0, -1);
        if (chunk.length) await write(out, ctx, chunk);
      } else if (bytes === declared) {
        // The whole body is here: head and body leave in one write.
        ctx.firstByteAt ??= performance.now();
        if (!out.destroyed) out.end(chunk);
      } else await write(out, ctx, chunk);
    }
  } catch (err) {
    ctx.upstreamEndedAt = performance.now();
    upstream.body.destroy();
    outcome.errorType = interrupted(r, err, () => res.destroy());
    tap?.onEnd?.({ complete: false, usage: undefined });
    return outcome;
  }
  ctx.upstreamEndedAt = performance.now();
  if (!tap?.beforeEnd && !out.writableEnded) {
    ctx.firstByteAt ??= performance.now();
    out.end();
  }
  let json: unknown;
  let text: string | undefined;
  if (capture && !tail) {
    text = (captured.length === 1 ? captured[0]! : Buffer.concat(captured)).toString('utf8');
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  // Declared JSON but not JSON (a gateway's page with the wrong type): already passed on as sent;
  // the row says it was no answer.
  if (capture && !tail && json === undefined && outcome.status < 300 && JSON_ONLY.has(ctx.endpoint)) outcome.errorType = 'upstream_invalid_json';
  if (outcome.status < 400 && json !== undefined) {
    outcome.usage = usageFromJson(ctx.endpoint, json, ctx.json);
    const m = (json as Record<string, unknown>)['model'];
    if (typeof m === 'string') outcome.responseModel = m;
  } else if (outcome.status < 400 && tail) {
    outcome.usage = usageFromJsonTail(ctx.endpoint, tail.toString('utf8'));
  }
  const end: TapEnd = { complete: outcome.status < 300, usage: outcome.usage, json, text: json === undefined ? undefined : text, responseModel: outcome.responseModel };
  if (tap?.beforeEnd) await endWith(r, end, lastByte, out);
  else tap?.onEnd?.(end);
  return outcome;
}

/**
 * A 2xx whose body is not JSON where the endpoint promises JSON: the caller gets a 502 (an SDK
 * would fail to parse it, or worse, take it for an empty success), the row an upstream error.
 */
function notJson(r: Relay, contentType: string): CallOutcome {
  const { deps, res, ctx, upstream } = r;
  ctx.upstreamEndedAt = performance.now();
  // Read off and dropped (up to undici's limit), so the connection can be reused.
  void upstream.body.dump().catch(() => undefined);
  const status = upstream.statusCode;
  deps.logger.warn({ requestId: ctx.requestId, endpoint: ctx.endpoint, status, contentType }, 'upstream answered a success that is not JSON');
  r.tap?.onEnd?.({ complete: false, usage: undefined });
  sendError(res, upstreamWrongBody('JSON', contentType, status));
  return { ...baseOutcome(r), status: 502, errorType: 'upstream_not_json' };
}

/**
 * An upstream answer cut short: the caller's hang-up, the shutdown (which ended the caller's stream
 * with its own error event and cancelled upstream), or a break upstream (logged, and `cut` tells
 * the caller).
 */
function interrupted(r: Relay, err: unknown, cut: () => void): string {
  if (r.ctx.clientAborted) return 'client_aborted';
  const ended = r.ctx.lastByte?.ended ?? r.res.writableEnded;
  if (r.deps.draining && ended) return 'server_shutting_down';
  r.deps.logger.warn({ requestId: r.ctx.requestId, err: (err as Error).message }, 'upstream response interrupted');
  if (!ended) cut();
  return 'upstream_interrupted';
}

/** Ends a response whose upstream answer is complete: the tap sees it, finishes its bookkeeping, then the caller's last byte. */
async function endWith(r: Relay, end: TapEnd, last?: Buffer | string, out: Writable = r.res): Promise<void> {
  const { deps, res, ctx, tap } = r;
  tap?.onEnd?.(end);
  if (tap?.beforeEnd) {
    let timer: NodeJS.Timeout | undefined;
    try {
      // A slow or stalled database delays the caller's last byte by FINISH_WAIT_MS at most.
      await Promise.race([tap.beforeEnd(end), new Promise<void>((resolve) => (timer = setTimeout(resolve, FINISH_WAIT_MS)))]);
    } catch (err) {
      // Bookkeeping failed (database down): the caller still gets its answer.
      deps.logger.warn({ err: (err as Error).message, requestId: ctx.requestId }, 'could not finish before the end of the response');
    } finally {
      clearTimeout(timer);
    }
  }
  if (out.destroyed || out.writableEnded) return;
  ctx.firstByteAt ??= performance.now();
  out.end(last?.length ? last : undefined);
}

function write(res: Writable, ctx: CallContext, chunk: Buffer | string): Promise<void> | void {
  // The caller left but the upstream read goes on (see ResponseTap.keepUpstream): drop its copy.
  if (res.destroyed || res.writableEnded) return;
  ctx.firstByteAt ??= performance.now();
  if (res.write(chunk)) return;
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      if (res.destroyed && !res.writableFinished) reject(new ClientAbortedError());
      else resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** No upstream answer at all: the caller's hang-up (499), a timeout (504) or an unreachable upstream (502). */
function upstreamFailure(deps: AppDeps, res: ServerResponse, ctx: CallContext, err: unknown): CallOutcome {
  const kind = classifyUpstreamError(err);
  if (kind === 'aborted' || ctx.clientAborted) return clientAbortedOutcome(ctx);
  // The shutdown cancelled the call at its grace deadline (main.ts destroys the upstream client).
  if (deps.draining && !(err instanceof ProxyError)) {
    sendError(res, serverShuttingDown());
    return { status: 503, usage: undefined, cacheStatus: 'bypass', errorType: 'server_shutting_down' };
  }
  // Our own refusal while the body streamed up (413); otherwise the cause (addresses, socket
  // errors) goes to the log, not to the caller.
  if (!(err instanceof ProxyError)) deps.logger.warn({ requestId: ctx.requestId, kind, err: (err as Error)?.message ?? String(err) }, 'upstream request failed');
  const e = err instanceof ProxyError ? err : kind === 'timeout' ? upstreamTimeout() : upstreamUnreachable();
  sendError(res, e);
  return { status: e.status, usage: undefined, cacheStatus: 'bypass', errorType: e.code ?? e.type };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
