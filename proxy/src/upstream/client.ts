import type { Readable } from 'node:stream';
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';

export interface UpstreamRequest {
  method: string;
  /** Path below the upstream base URL, with query: `/chat/completions?x=1`. */
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer | Readable;
  signal?: AbortSignal;
}

export interface UpstreamClient {
  readonly baseUrl: URL;
  send(req: UpstreamRequest): Promise<Dispatcher.ResponseData>;
  close(): Promise<void>;
}

/**
 * Keep-alive pooled HTTP client for the upstream API. Timeouts match the openai SDK's own
 * 10-minute default, since long non-streamed reasoning calls legitimately take minutes.
 */
export function createUpstreamClient(opts: {
  baseUrl: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  connections: number;
}): UpstreamClient {
  const baseUrl = new URL(opts.baseUrl.endsWith('/') ? opts.baseUrl.slice(0, -1) : opts.baseUrl);
  const agent = new Agent({
    connections: opts.connections,
    keepAliveTimeout: 30_000,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connect: { timeout: opts.connectTimeoutMs },
  });
  return {
    baseUrl,
    send(req) {
      const url = new URL(baseUrl.toString());
      const [pathname, query] = splitQuery(req.path);
      url.pathname = `${baseUrl.pathname.replace(/\/$/, '')}${pathname}`;
      url.search = query;
      return request(url, {
        method: req.method as Dispatcher.HttpMethod,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
        dispatcher: agent,
      });
    },
    close: () => agent.close(),
  };
}

function splitQuery(path: string): [string, string] {
  const i = path.indexOf('?');
  return i < 0 ? [path, ''] : [path.slice(0, i), path.slice(i)];
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
