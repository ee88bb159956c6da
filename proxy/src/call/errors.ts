import type { ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { errors as undiciErrors } from 'undici';
import { CoalesceTimeoutError } from '../coalesce/singleFlight.js';

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'server_error'
  | 'timeout_error'
  | 'idempotency_error'
  | 'rate_limit_error';

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType | string; param: string | null; code: string | null };
}

export interface ProxyErrorInit {
  status: number;
  message: string;
  type?: OpenAIErrorType | string;
  code?: string | null;
  param?: string | null;
  /** Sent as `x-should-retry`, which the openai SDK obeys: false for what a retry cannot fix. */
  retry?: boolean;
  /** Headers that go with the answer, e.g. upstream's retry-after on a 429. */
  headers?: Record<string, string>;
  /** What the caller must not see (a JS error, a socket error): it goes to the log. */
  cause?: unknown;
}

/** An error the proxy answers in OpenAI's error shape, `{ error: { message, type, param, code } }`. */
export class ProxyError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly retry: boolean | undefined;
  readonly headers: Record<string, string>;

  constructor(init: ProxyErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.type = init.type ?? (init.status >= 500 ? 'server_error' : 'invalid_request_error');
    this.code = init.code ?? null;
    this.param = init.param ?? null;
    this.retry = init.retry ?? (init.status >= 400 && init.status < 500 && init.status !== 408 && init.status !== 409 && init.status !== 429 ? false : undefined);
    this.headers = { ...init.headers };
  }

  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

// The few answers the proxy gives of its own, named once.
export const invalidRequest = (message: string, opts: { param?: string | null; code?: string | null; status?: number } = {}) =>
  new ProxyError({ status: opts.status ?? 400, message, code: opts.code ?? null, param: opts.param ?? null });

export const bodyTooLarge = (limit: number, setting = 'BODY_LIMIT_BYTES', how = '') =>
  new ProxyError({ status: 413, message: `Request body exceeds the proxy's limit of ${limit} bytes (${setting})${how}.`, code: 'request_too_large' });

export const upstreamTimeout = (cause?: unknown) =>
  new ProxyError({ status: 504, message: 'The upstream API did not answer in time.', type: 'timeout_error', code: 'upstream_timeout', retry: true, cause });

export const upstreamUnreachable = (cause?: unknown) =>
  new ProxyError({ status: 502, message: 'The upstream API could not be reached.', code: 'upstream_unreachable', retry: true, cause });

export const upstreamUnreadable = (cause?: unknown) =>
  new ProxyError({ status: 502, message: 'The upstream API returned a response that could not be read.', code: 'invalid_upstream_output', retry: true, cause });

/** A success whose body is not what the route promises (an HTML page from a broken gateway): `what` names what it should have been. */
export const upstreamWrongBody = (what: string, contentType: string, status?: number) =>
  new ProxyError({
    status: 502,
    message: `The upstream API answered${status === undefined ? '' : ` ${status}`} with a body that is not ${what} (${contentType.split(';')[0] || 'no content type'}).`,
    code: 'invalid_upstream_output',
    retry: true,
  });

/** The shutdown's grace period ended before upstream answered: the proxy cancelled the call, not upstream. */
export const serverShuttingDown = () =>
  new ProxyError({
    status: 503,
    message: 'Tollgate is shutting down; the request was cancelled before upstream answered. Retry it.',
    code: 'server_shutting_down',
    retry: true,
    headers: { 'retry-after': '1' },
  });

export const requestInProgress = () =>
  new ProxyError({ status: 409, message: 'An identical request is still in progress; retry shortly.', code: 'request_in_progress', retry: true });

export const overloaded = (retryAfterSeconds: number, setting: string) =>
  new ProxyError({
    status: 503,
    message: `Tollgate is at its limit of concurrent requests (${setting}); retry shortly.`,
    code: 'proxy_overloaded',
    retry: true,
    headers: { 'retry-after': String(retryAfterSeconds) },
  });

export const internalError = (cause: unknown) =>
  new ProxyError({ status: 500, message: 'The request failed inside Tollgate; it has been logged.', code: 'internal_error', retry: true, cause });

/** The caller hung up before its answer: nobody reads this, the call-log row (499) does. */
export class ClientAbortedError extends Error {
  constructor() {
    super('The client closed the connection before its answer.');
    this.name = 'ClientAbortedError';
  }
}

/**
 * The one place any thrown thing becomes an answer: our own errors as they are; what the caller
 * sent wrong (body-parser, JSON too deep to walk) a 4xx; upstream failures (the undici client's or
 * the openai SDK's) 429 / 4xx as upstream said, else 502 / 504; anything else a 500 whose cause
 * goes to the log, never to the caller.
 */
export function toProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  if (err instanceof CoalesceTimeoutError) return requestInProgress();
  const e = err as { type?: string; status?: number; code?: string; message?: string } | undefined;
  switch (e?.type) {
    case 'entity.parse.failed':
      return invalidRequest('We could not parse the JSON body of your request.', { code: 'invalid_json' });
    case 'entity.too.large':
      return bodyTooLarge((err as { limit: number }).limit);
    case 'encoding.unsupported':
      return invalidRequest('The request body could not be decoded (Content-Encoding).', { status: 415, code: 'invalid_content_encoding' });
  }
  if (/^Z_/.test(e?.code ?? '')) return invalidRequest('The request body could not be decoded (Content-Encoding).', { code: 'invalid_content_encoding' });
  // Canonical hashing walks the body recursively; a body nested past what it can walk is the caller's.
  if (err instanceof RangeError && /call stack/i.test(err.message)) return tooDeep();
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return upstreamTimeout(err);
  }
  if (err instanceof OpenAI.APIConnectionTimeoutError) return upstreamTimeout(err);
  if (err instanceof OpenAI.APIUserAbortError) return new ProxyError({ status: 499, message: 'The request was cancelled.', code: 'client_closed_request' });
  if (err instanceof OpenAI.APIConnectionError) return upstreamUnreachable(err);
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') return fromApiError(err);
  if (err instanceof OpenAI.OpenAIError) return upstreamUnreadable(err);
  if (e?.code && UNREACHABLE_CODES.has(e.code)) return upstreamUnreachable(err);
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && typeof e.message === 'string' && (e as { expose?: boolean }).expose) {
    return invalidRequest(e.message, { status: e.status });
  }
  return internalError(err);
}

export const tooDeep = () => invalidRequest('The JSON body is nested too deeply.', { code: 'invalid_json' });

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'EPIPE']);

/** An upstream API error as the SDK raised it: 429 and 4xx as they were (without the SDK's "400 " prefix), 5xx as 502. */
function fromApiError(err: InstanceType<typeof OpenAI.APIError>): ProxyError {
  const status = err.status as number;
  const apiMessage = (err.error as { message?: unknown } | undefined)?.message;
  const message = typeof apiMessage === 'string' && apiMessage !== '' ? apiMessage : err.message;
  if (status === 429) {
    const headers: Record<string, string> = {};
    // The SDK (and any client) backs off by these: pass upstream's on.
    for (const name of ['retry-after', 'retry-after-ms']) {
      const value = err.headers?.get(name);
      if (value) headers[name] = value;
    }
    return new ProxyError({ status, message, type: 'rate_limit_error', code: err.code ?? 'rate_limit_exceeded', retry: true, headers });
  }
  if (status < 500) return new ProxyError({ status, message, type: err.type ?? 'invalid_request_error', code: err.code ?? null, param: err.param ?? null, retry: false });
  return new ProxyError({ status: 502, message: `The upstream API failed (${status}): ${message}`, code: 'upstream_error', retry: true });
}

/** Whether upstream itself answered with this error (an HTTP status), so it is the request's final answer. */
export function upstreamAnswered(err: unknown): boolean {
  return err instanceof OpenAI.APIError && typeof err.status === 'number';
}

/** Sends the error, or cuts the connection when the answer has already begun. */
export function sendError(res: ServerResponse, err: ProxyError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  if (err.retry !== undefined) res.setHeader('x-should-retry', String(err.retry));
  const body = JSON.stringify(err.body());
  res.statusCode = err.status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}
