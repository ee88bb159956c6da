import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { Agent, errors as undiciErrors, fetch as undiciFetch, type Dispatcher } from 'undici';

export interface UpstreamRequest {
  method: string;
  /** Path below the upstream base URL, with query: `/chat/completions?x=1`. */
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer | Readable;
  /** An AbortSignal, or an EventEmitter that emits 'abort' (undici takes either). */
  signal?: AbortSignal | EventEmitter;
}

export interface UpstreamClient {
  readonly baseUrl: URL;
  send(req: UpstreamRequest): Promise<Dispatcher.ResponseData>;
  /** fetch() over the same connections and timeouts, for the openai SDK on Tollgate's own routes. */
  fetch: typeof globalThis.fetch;
  close(): Promise<void>;
  /** Fails every upstream call still running (shutdown past its grace period), so their routes end and log. */
  destroy(): Promise<void>;
}

/**
 * Keep-alive pooled HTTP client for the upstream API: the one stack every route uses. Timeouts
 * match the openai SDK's own 10-minute default, since long non-streamed reasoning calls
 * legitimately take minutes; between two chunks of a body the same timeout applies. `connections`
 * 0 means no cap per upstream origin: a thousand slow streams need a thousand sockets, and a cap
 * would queue the rest without a deadline (the proxy's own limit is MAX_CONCURRENT_REQUESTS).
 */
export function createUpstreamClient(opts: { baseUrl: string; timeoutMs: number; connectTimeoutMs: number; connections: number }): UpstreamClient {
  const baseUrl = new URL(opts.baseUrl.endsWith('/') ? opts.baseUrl.slice(0, -1) : opts.baseUrl);
  const origin = baseUrl.origin;
  const basePath = baseUrl.pathname.replace(/\/$/, '');
  const agent = new Agent({
    connections: opts.connections > 0 ? opts.connections : null,
    keepAliveTimeout: 30_000,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connect: { timeout: opts.connectTimeoutMs },
  });
  return {
    baseUrl,
    send(req) {
      return agent.request({
        origin,
        path: basePath + req.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
      });
    },
    fetch: ((input: string | URL, init?: Record<string, unknown>) => undiciFetch(input, { ...init, dispatcher: agent })) as unknown as typeof globalThis.fetch,
    close: () => agent.close(),
    destroy: () => agent.destroy(),
  };
}

export type UpstreamFailure = 'timeout' | 'unreachable' | 'aborted' | 'other';

/** Classifies a thrown upstream error so the proxy can answer 504 vs 502. */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) return 'timeout';
  if (err instanceof undiciErrors.ConnectTimeoutError) return 'timeout';
  if (err instanceof undiciErrors.RequestAbortedError) return 'aborted';
  const e = err as { name?: string; code?: string };
  if (e?.name === 'AbortError') return 'aborted';
  if (e?.code && ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'EPIPE'].includes(e.code))
    return 'unreachable';
  return 'other';
}
