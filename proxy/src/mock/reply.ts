import type { SseEvent } from './sse.js';
import type { OpenAIErrorBody } from './errors.js';
import { errorBody } from './errors.js';

/** What an endpoint handler produces; the server turns it into HTTP (and applies faults). */
export type Reply =
  | { kind: 'json'; status?: number; body: unknown }
  | { kind: 'sse'; events: SseEvent[] }
  | { kind: 'bytes'; contentType: string; body: Buffer }
  | { kind: 'error'; status: number; body: OpenAIErrorBody };

/** Per-request facts a handler needs beyond the body. */
export interface HandlerContext {
  /** Hex digest of method, path and body: the source of every id in the reply. */
  hash: string;
  /** From `x-mock-cached-tokens`: how many prompt tokens to report as cached. */
  cachedTokens: number;
}

export function badRequest(message: string, param: string | null = null, code: string | null = null): Reply {
  return { kind: 'error', status: 400, body: errorBody(message, 'invalid_request_error', param, code) };
}

export function missing(param: string): Reply {
  return badRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}

/** The API's answer to a body without `model`. */
export const NO_MODEL: Reply = badRequest('you must provide a model parameter');
