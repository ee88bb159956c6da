import OpenAI from 'openai';
import type { Request } from 'express';
import type { AppDeps } from '../deps.js';
import { ProxyError, type OpenAIErrorType } from '../errors.js';
import type { CallContext } from '../proxy/requestContext.js';
import { credentialOf, tenantOf } from '../tenant.js';

/**
 * An openai SDK client for Tollgate's own endpoints: upstream is UPSTREAM_BASE_URL, the key is the
 * caller's own (Authorization / api-key) or else OPENAI_API_KEY; with neither, 401.
 */
export function openaiFor(deps: AppDeps, credential: string | undefined): OpenAI {
  const apiKey = credential ?? deps.config.OPENAI_API_KEY;
  if (!apiKey) {
    throw new ProxyError(401, 'No API key: send Authorization: Bearer <key>, or configure OPENAI_API_KEY.', 'invalid_request_error', 'missing_api_key', null, false);
  }
  return new OpenAI({ apiKey, baseURL: deps.config.UPSTREAM_BASE_URL, timeout: deps.config.UPSTREAM_TIMEOUT_MS, maxRetries: 0 });
}

/**
 * An SDK failure as the ProxyError to answer: upstream 4xx as they were, 5xx as 502, timeouts 504.
 * Errors that are not the API's (a malformed answer, a bug, the database) never pass their message on.
 */
export function upstreamError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new ProxyError(504, 'The upstream API did not answer in time.', 'timeout_error', 'upstream_timeout', null, true);
  }
  if (err instanceof OpenAI.APIUserAbortError) {
    return new ProxyError(499, 'The request was cancelled.', 'invalid_request_error', 'client_closed_request');
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return new ProxyError(502, 'The upstream API could not be reached.', 'server_error', 'upstream_unreachable', null, true);
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    // The API's own message, without the SDK's "400 " prefix.
    const apiMessage = (err.error as { message?: unknown } | undefined)?.message;
    const message = typeof apiMessage === 'string' && apiMessage !== '' ? apiMessage : err.message;
    if (status === 429) {
      const limited = new ProxyError(429, message, 'rate_limit_error', err.code ?? 'rate_limit_exceeded', null, true);
      // The SDK (and any client) backs off by these: pass upstream's on.
      for (const name of ['retry-after', 'retry-after-ms']) {
        const value = err.headers?.get(name);
        if (value) limited.headers[name] = value;
      }
      return limited;
    }
    if (status >= 400 && status < 500) {
      return new ProxyError(status, message, (err.type ?? 'invalid_request_error') as OpenAIErrorType, err.code ?? null, err.param ?? null, false);
    }
    return new ProxyError(502, `The upstream API failed (${status}): ${message}`, 'server_error', 'upstream_error', null, true);
  }
  // Anything else is not for the caller to read (a JS error's message names our internals); the
  // routes log it. Other SDK errors mean upstream answered something the SDK could not use.
  const hidden = err instanceof OpenAI.OpenAIError
    ? new ProxyError(502, 'The upstream API returned a response that could not be read.', 'server_error', 'upstream_error', null, true)
    : new ProxyError(500, 'The request failed inside Tollgate; it has been logged.', 'server_error', 'internal_error', null, true);
  return Object.assign(hidden, { cause: err });
}

/** Whether upstream itself answered with this error (an HTTP status), so it is the request's final answer. */
export function upstreamAnswered(err: unknown): boolean {
  return err instanceof OpenAI.APIError && typeof err.status === 'number';
}

/** A call-log context for one of Tollgate's own endpoints (`endpoint` is its dotted log name). */
export function apiCallContext(req: Request, endpoint: string, requestId: string): CallContext {
  const credential = credentialOf(req.headers as { authorization?: string; 'api-key'?: string });
  const path = req.originalUrl;
  return {
    requestId,
    tenant: tenantOf(credential),
    credential,
    method: req.method,
    path,
    upstreamPath: path,
    endpoint,
    model: undefined,
    stream: false,
    json: undefined,
    startedAt: performance.now(),
    clientAborted: false,
  };
}
