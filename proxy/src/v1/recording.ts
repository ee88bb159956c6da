import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../deps.js';
import { noSettle, type Served, type Settle } from '../idempotency/guard.js';
import { replayableHeaders, stripChatUsage, type StoredResponse } from '../sse/index.js';
import type { Usage } from '../usage/types.js';
import { forward, type ResponseTap, type TapEnd } from './forward.js';
import type { PreparedRequest } from './prepare.js';

/** What one forwarded call produced, as far as the cache and the Idempotency-Key store care. */
export interface Recorded {
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

/** A tap that records the upstream answer as it is forwarded; `result` fills in as it goes. */
export function recorder(): { tap: ResponseTap; result: Recorded } {
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

/** The response as the caller saw it (the proxy's own usage chunk hidden again); undefined if it may not be replayed. */
export function storedFromRecording(rec: Recorded, injectedUsage: boolean): StoredResponse | undefined {
  if (rec.status === 0) return undefined;
  const stored: StoredResponse = { status: rec.status, headers: rec.headers, contentType: rec.contentType };
  if (rec.sseText !== undefined) {
    if (!rec.complete) return undefined;
    stored.sseText = injectedUsage ? stripChatUsage(rec.sseText) : rec.sseText;
  } else if (rec.json !== undefined) {
    stored.bodyJson = rec.json;
    if (rec.text !== undefined) stored.bodyText = rec.text;
  } else stored.bodyText = '';
  return stored;
}

/** What the caller is being sent, as known when its upstream answer has ended (before the last byte). */
export function servedOfRecording(rec: Recorded, end: TapEnd, cacheStatus: 'miss' | 'bypass', injectedUsage: boolean): Served {
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

/**
 * Forwards without the response cache (not asked for, or the database is away); the answer is
 * recorded only when an Idempotency-Key must store it, before the caller's last byte.
 */
export async function forwardBypassingCache(deps: AppDeps, req: IncomingMessage, res: ServerResponse, prepared: PreparedRequest, settle: Settle): Promise<Served> {
  res.setHeader('x-tollgate-cache', 'BYPASS');
  if (settle === noSettle) return { outcome: await forward(deps, req, res, prepared) };
  const { tap, result } = recorder();
  tap.beforeEnd = (end) => settle(servedOfRecording(result, end, 'bypass', prepared.injectedUsage));
  const outcome = await forward(deps, req, res, prepared, tap);
  return { outcome, stored: storedFromRecording(result, prepared.injectedUsage) };
}
