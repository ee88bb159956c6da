import { Transform, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';
import type { Request, Response } from 'express';
import type { AppDeps } from '../deps.js';
import { ProxyError, badRequest, sendError } from '../errors.js';
import { classifyUpstreamError } from '../upstream/client.js';
import { estimateUsage, promptTextOf, usageFromJson } from '../usage/extract.js';
import type { Usage } from '../usage/types.js';
import { rawBodyDigest } from '../idempotency/keys.js';
import { isJsonRequest, readBody } from './body.js';
import { memberValueSpan } from './jsonText.js';
import { clientAbortedOutcome, type CallOutcome } from './callRecord.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { CallContext } from './requestContext.js';
import { TAIL_BYTES, usageFromJsonTail } from '../usage/tail.js';
import { DoneEventHold } from './doneEventHold.js';
import { SseEventSplitter, SseObserver, hideInjectedUsage } from './sseObserver.js';

/** Endpoints whose requests must name a model, as upstream would insist anyway. */
const MODEL_REQUIRED = new Set(['chat.completions', 'completions', 'responses', 'embeddings', 'audio.speech']);
/** Endpoints whose responses the proxy reads for usage, so it asks upstream for them uncompressed. */
const PARSED = new Set(['chat.completions', 'completions', 'responses', 'embeddings', 'images.generations', 'images.edits', 'moderations', 'audio.transcriptions', 'audio.translations']);
/** Largest JSON response kept in memory to read usage from; bigger ones are piped without it. */
const MAX_CAPTURE_BYTES = 16 * 1024 * 1024;

/** A request, parsed and checked, ready to go upstream. */
export interface PreparedRequest {
  ctx: CallContext;
  /** Body to forward: bytes as received (or with one option added), or the raw stream. */
  body: Buffer | Readable | undefined;
  /** The proxy added stream_options.include_usage and must hide its effect from the caller. */
  injectedUsage: boolean;
  /** The forwarded body is no longer the caller's encoded one: drop Content-Encoding upstream. */
  decodedBody: boolean;
}

const INVALID_JSON =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)";

/** Reads and validates the caller's request. Throws ProxyError (4xx) for what upstream would refuse. */
export async function prepareRequest(req: Request, ctx: CallContext, limit: number): Promise<PreparedRequest> {
  const prepared = (body: PreparedRequest['body'], injectedUsage = false, decodedBody = false): PreparedRequest => ({
    ctx,
    body,
    injectedUsage,
    decodedBody,
  });
  if (hasDotSegment(ctx.path)) throw badRequest(`Invalid URL (${req.method} ${ctx.path.split('?')[0]})`, null, 'invalid_url');
  const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
  if (req.method !== 'POST') {
    // Only the Responses API streams on a GET (`/responses/{id}?stream=true`).
    ctx.stream = ctx.endpoint.startsWith('responses') && /(?:^|&)stream=true(?:&|$)/.test(ctx.path.split('?')[1] ?? '');
    return prepared(hasBody ? limitStream(req, limit) : undefined);
  }
  if (!isJsonRequest(req)) {
    if (req.headers['idempotency-key'] === undefined) return prepared(limitStream(req, limit));
    // A keyed upload is held whole: its fingerprint must tell a retry from another upload (422).
    const raw = await readBody(req, limit);
    ctx.bodyDigest = rawBodyDigest(raw, req.headers['content-type']);
    return prepared(raw);
  }
  const raw = await readBody(req, limit);
  // A UTF-8 byte order mark is legal before JSON for upstream's parser; JSON.parse refuses it.
  const text = (await decodeBody(raw, req.headers['content-encoding'], limit)).toString('utf8').replace(/^\uFEFF/, '');
  if (text.length === 0) {
    if (MODEL_REQUIRED.has(ctx.endpoint)) throw badRequest('you must provide a model parameter', 'model');
    return prepared(raw);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest(INVALID_JSON, null, 'invalid_json');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw badRequest('The request body must be a JSON object.', null, 'invalid_json');
  }
  const json = parsed as Record<string, unknown>;
  ctx.json = json;
  ctx.jsonText = text;
  if (json['model'] !== undefined && typeof json['model'] !== 'string') throw badRequest('model must be a string', 'model');
  // The Images API falls back to dall-e-2 when no model is named: priced and logged as such.
  ctx.model = (json['model'] as string | undefined) ?? (ctx.endpoint.startsWith('images.') ? 'dall-e-2' : undefined);
  if (!ctx.model && MODEL_REQUIRED.has(ctx.endpoint)) throw badRequest('you must provide a model parameter', 'model');
  ctx.stream = json['stream'] === true;
  const opts = json['stream_options'] as Record<string, unknown> | undefined;
  if (ctx.stream && (ctx.endpoint === 'chat.completions' || ctx.endpoint === 'completions') && opts?.['include_usage'] !== true) {
    // Without this option a chat stream carries no usage at all; ask for it and hide it again.
    return prepared(Buffer.from(withIncludeUsage(text, json)), true, true);
  }
  return prepared(raw);
}

/**
 * The caller's JSON text with `stream_options.include_usage: true`. The member is spliced into the
 * text rather than re-serialising the body, so numbers JSON.parse cannot hold exactly (a 20-digit
 * seed) and the caller's formatting reach upstream unchanged.
 */
function withIncludeUsage(text: string, json: Record<string, unknown>): string {
  const opts = json['stream_options'];
  const span = opts === undefined ? undefined : memberValueSpan(text, 'stream_options');
  if (!span) {
    const brace = text.indexOf('{');
    return `${text.slice(0, brace + 1)}"stream_options":{"include_usage":true},${text.slice(brace + 1)}`;
  }
  // The caller sent stream_options without include_usage: only that member's value is rewritten.
  const value = opts && typeof opts === 'object' ? { ...opts, include_usage: true } : { include_usage: true };
  return `${text.slice(0, span.start)}${JSON.stringify(value)}${text.slice(span.end)}`;
}

/** Content-Encoding of a request body, undone for parsing; the limit applies to the decoded size too. */
async function decodeBody(raw: Buffer, encoding: string | undefined, limit: number): Promise<Buffer> {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return raw;
  const opts = { maxOutputLength: limit };
  try {
    if (e === 'gzip' || e === 'x-gzip') return await promisify(gunzip)(raw, opts);
    if (e === 'deflate') return await promisify(inflate)(raw, opts);
    if (e === 'br') return await promisify(brotliDecompress)(raw, opts);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ProxyError(413, `Request body exceeds the proxy's limit of ${limit} bytes (BODY_LIMIT_BYTES) once decompressed.`, 'invalid_request_error', 'request_too_large', null, false);
    }
    throw badRequest(`The request body could not be decoded as ${e}.`, null, 'invalid_content_encoding');
  }
  throw new ProxyError(415, `Unsupported Content-Encoding: ${e}.`, 'invalid_request_error', 'unsupported_content_encoding', null, false);
}

/** `.` or `..` path segments (also percent-encoded) would be resolved away before reaching upstream. */
function hasDotSegment(path: string): boolean {
  return path
    .split('?')[0]!
    .split('/')
    .some((seg) => /^(?:\.|%2e){1,2}$/i.test(seg));
}

function limitStream(req: Request, limit: number): Readable {
  let size = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > limit) cb(new ProxyError(413, `Request body exceeds the proxy's limit of ${limit} bytes (BODY_LIMIT_BYTES).`, 'invalid_request_error', 'request_too_large', null, false));
      else cb(null, chunk);
    },
  });
  req.on('error', (err) => limiter.destroy(err));
  return req.pipe(limiter);
}

/** Forwards a prepared request upstream and streams the answer back; resolves with what to log. */
export async function forward(deps: AppDeps, req: Request, res: Response, prepared: PreparedRequest, tap?: ResponseTap): Promise<CallOutcome> {
  const { ctx, body, injectedUsage, decodedBody } = prepared;
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) {
      ctx.clientAborted = true;
      // Coalesced callers may still be reading this upstream stream; then it runs to its end.
      if (!tap?.keepUpstream?.()) abort.abort();
    }
  };
  res.on('close', onClose);
  const headers = upstreamRequestHeaders(req.headers, {
    fallbackApiKey: deps.config.OPENAI_API_KEY,
    identityEncoding: PARSED.has(ctx.endpoint),
    bodyLength: Buffer.isBuffer(body) ? body.length : undefined,
  });
  if (decodedBody) delete headers['content-encoding'];
  ctx.upstreamSentAt = performance.now();
  deps.metrics.overheadSeconds.observe((ctx.upstreamSentAt - ctx.startedAt) / 1000);
  let upstream;
  try {
    upstream = await deps.upstream.send({ method: ctx.method, path: ctx.upstreamPath, headers, body, signal: abort.signal });
  } catch (err) {
    res.off('close', onClose);
    ctx.upstreamEndedAt = performance.now();
    if (err instanceof ProxyError) {
      sendError(res, err);
      return { status: err.status, usage: undefined, cacheStatus: 'bypass', errorType: err.code ?? err.type };
    }
    return upstreamFailure(deps, res, ctx, err);
  }
  const status = upstream.statusCode;
  const upstreamRequestId = headerValue(upstream.headers['x-request-id']);
  const contentType = headerValue(upstream.headers['content-type']) ?? '';
  const isSse = contentType.includes('text/event-stream');
  tap?.onHead?.(status, upstream.headers);
  res.status(status);
  const outHeaders = clientResponseHeaders(upstream.headers as Record<string, string | string[]>, !isSse && !injectedUsage);
  for (const [name, value] of Object.entries(outHeaders)) res.setHeader(name, value);
  let usage: Usage | undefined;
  let errorType: string | null = status >= 400 ? `upstream_${status}` : null;
  // Outside the try: a cut stream's text so far is what its completion tokens are estimated from.
  const observer = new SseObserver();
  let responseModel: string | undefined;
  let held: DoneEventHold | undefined;
  try {
    if (isSse) {
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('X-Accel-Buffering', 'no');
      res.removeHeader('content-length');
      res.flushHeaders();
      res.socket?.setNoDelay(true);
      const splitter = injectedUsage ? new SseEventSplitter() : undefined;
      const decoder = new StringDecoder('utf8');
      // With bookkeeping to finish first, a chat stream's `data: [DONE]` event (where an SDK stops
      // reading) is held back until it is done; everything before it goes out as it comes.
      // Responses streams have no such event: their end is the response's end.
      held = tap?.beforeEnd && (ctx.endpoint === 'chat.completions' || ctx.endpoint === 'completions') ? new DoneEventHold() : undefined;
      const send = async (out: Buffer | string) => {
        const now = held ? held.push(out) : out;
        if (now.length) await write(res, ctx, now);
      };
      for await (const chunk of upstream.body) {
        const text = decoder.write(chunk as Buffer);
        observer.feed(text);
        tap?.onChunk?.(text);
        if (splitter) {
          const visible = splitter.push(text).map(hideInjectedUsage).filter((e): e is string => e !== null).join('');
          if (visible) await send(visible);
        } else {
          await send(chunk as Buffer);
        }
      }
      if (splitter) {
        const rest = splitter.rest();
        if (rest) await send(rest);
      }
      ctx.upstreamEndedAt = performance.now();
      responseModel = observer.model;
      usage = observer.usage ?? (status < 400 ? estimateUsage(promptTextOf(ctx.json), observer.text) : undefined);
      if (observer.errored) errorType ??= 'stream_error';
      await endWith(deps, res, ctx, tap, { complete: observer.finished && !observer.errored && status < 300, usage, responseModel }, held?.rest());
    } else {
      res.flushHeaders();
      const captured: Buffer[] = [];
      let capturedBytes = 0;
      const capture = contentType.includes('json');
      // Past MAX_CAPTURE_BYTES only the last TAIL_BYTES are kept: enough to read `usage` from.
      let tail = Buffer.alloc(0);
      let lastByte: Buffer | undefined;
      for await (const chunk of upstream.body) {
        if (capture && capturedBytes <= MAX_CAPTURE_BYTES) {
          captured.push(chunk as Buffer);
          capturedBytes += (chunk as Buffer).length;
          if (capturedBytes > MAX_CAPTURE_BYTES) tail = Buffer.concat(captured).subarray(-TAIL_BYTES);
        } else if (capture) {
          tail = Buffer.concat([tail, chunk as Buffer]).subarray(-TAIL_BYTES);
        }
        // With bookkeeping to finish first, the body's last byte waits for it: with Content-Length,
        // a client has its answer at that byte, before the response formally ends.
        if (tap?.beforeEnd) {
          const bytes = lastByte ? Buffer.concat([lastByte, chunk as Buffer]) : (chunk as Buffer);
          if (bytes.length > 1) await write(res, ctx, bytes.subarray(0, -1));
          lastByte = bytes.subarray(-1);
        } else {
          await write(res, ctx, chunk as Buffer);
        }
      }
      ctx.upstreamEndedAt = performance.now();
      // Without bookkeeping to finish first, the caller has its last byte before any parsing.
      if (!tap?.beforeEnd) res.end();
      let parsed: unknown;
      let bodyText: string | undefined;
      if (capture && capturedBytes <= MAX_CAPTURE_BYTES) {
        bodyText = Buffer.concat(captured).toString('utf8');
        try {
          parsed = JSON.parse(bodyText);
        } catch {
          parsed = undefined;
        }
      }
      if (status < 400 && parsed !== undefined) {
        usage = usageFromJson(ctx.endpoint, parsed, ctx.json);
        const m = (parsed as Record<string, unknown>)['model'];
        if (typeof m === 'string') responseModel = m;
      } else if (status < 400 && tail.length) {
        usage = usageFromJsonTail(ctx.endpoint, tail.toString('utf8'));
      }
      const end = { complete: status < 300, usage, json: parsed, text: parsed === undefined ? undefined : bodyText, responseModel };
      if (tap?.beforeEnd) await endWith(deps, res, ctx, tap, end, lastByte);
      else tap?.onEnd?.(end);
    }
  } catch (err) {
    ctx.upstreamEndedAt ??= performance.now();
    if (ctx.clientAborted) {
      errorType = 'client_aborted';
    } else {
      errorType = 'upstream_interrupted';
      deps.logger.warn({ requestId: ctx.requestId, err: (err as Error).message }, 'upstream response interrupted');
      if (isSse && !res.writableEnded) {
        // The SDK turns an `error` event into an APIError instead of hanging on a cut stream.
        // A [DONE] upstream did send before the break is the caller's, as without the hold.
        if (held?.holdsDone) res.write(held.rest());
        res.end(`data: ${JSON.stringify({ error: { message: 'The upstream connection was interrupted.', type: 'server_error', param: null, code: 'upstream_interrupted' } })}\n\n`);
      } else {
        res.destroy();
      }
    }
    tap?.onEnd?.({ complete: false, usage });
    if (isSse) usage = observer.usage ?? estimateUsage(promptTextOf(ctx.json), observer.text);
    upstream.body.destroy();
  } finally {
    res.off('close', onClose);
  }
  if (isSse && !usage && status < 400) usage = estimateUsage(promptTextOf(ctx.json), observer.text);
  return { status, usage, cacheStatus: 'bypass', upstreamRequestId, errorType, responseModel };
}

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

/** Lets a caching layer watch the response as it is forwarded. */
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

/** Ends a response whose upstream answer is complete: the tap sees it, finishes its bookkeeping, then the caller's last byte. */
async function endWith(deps: AppDeps, res: Response, ctx: CallContext, tap: ResponseTap | undefined, end: TapEnd, last?: Buffer | string): Promise<void> {
  tap?.onEnd?.(end);
  let timer: NodeJS.Timeout | undefined;
  try {
    // A slow or stalled database delays the caller's last byte by FINISH_WAIT_MS at most; the
    // write goes on without it.
    await Promise.race([
      tap?.beforeEnd?.(end),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, FINISH_WAIT_MS))),
    ]);
  } catch (err) {
    // Bookkeeping failed (database down): the caller still gets its answer.
    deps.logger.warn({ err: (err as Error).message, requestId: ctx.requestId }, 'could not finish before the end of the response');
  } finally {
    clearTimeout(timer);
  }
  if (last?.length && !res.destroyed && !res.writableEnded) {
    ctx.firstByteAt ??= performance.now();
    res.end(last);
  } else res.end();
}

/** Longest the last byte of a cached or keyed answer waits for its bookkeeping. */
const FINISH_WAIT_MS = 2000;

async function write(res: Response, ctx: CallContext, chunk: Buffer | string): Promise<void> {
  // The caller left but the upstream read goes on (see ResponseTap.keepUpstream): drop its copy.
  if (res.destroyed || res.writableEnded) return;
  ctx.firstByteAt ??= performance.now();
  if (!res.write(chunk)) {
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        if (res.destroyed && !res.writableFinished) reject(new Error('client closed'));
        else resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
}

function upstreamFailure(deps: AppDeps, res: Response, ctx: CallContext, err: unknown): CallOutcome {
  const kind = classifyUpstreamError(err);
  if (kind === 'aborted' || ctx.clientAborted) return clientAbortedOutcome(ctx);
  const message = (err as Error)?.message ?? String(err);
  deps.logger.warn({ requestId: ctx.requestId, kind, err: message }, 'upstream request failed');
  // The cause (addresses, socket errors) goes to the log, not to the caller.
  const e =
    kind === 'timeout'
      ? new ProxyError(504, 'The upstream API did not answer in time.', 'timeout_error', 'upstream_timeout')
      : new ProxyError(502, 'The upstream API could not be reached.', 'server_error', 'upstream_unreachable');
  sendError(res, e);
  return { status: e.status, usage: undefined, cacheStatus: 'bypass', errorType: e.code };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
