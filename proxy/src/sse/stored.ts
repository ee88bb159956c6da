import type { Response } from 'express';

/**
 * A final response as stored by the idempotency store (request_log) or the response cache:
 * enough to send it again. A streamed response keeps its recorded event stream in `sseText`;
 * a JSON one its parsed body in `bodyJson`; anything else its text in `bodyText`.
 */
export interface StoredResponse {
  status: number;
  /** Whitelisted response headers to replay (lower-case names), e.g. x-request-id, openai-processing-ms. */
  headers: Record<string, string>;
  contentType: string;
  bodyJson?: unknown;
  sseText?: string;
  bodyText?: string;
}

/** Response headers worth replaying; hop-by-hop, length, encoding, date and rate-limit state are not. */
export const REPLAYABLE_HEADERS = [
  'x-request-id',
  'openai-model',
  'openai-organization',
  'openai-processing-ms',
  'openai-project',
  'openai-version',
] as const;

export function replayableHeaders(headers: Record<string, unknown> | Headers): Record<string, string> {
  const out: Record<string, string> = {};
  const get = (name: string): unknown =>
    typeof (headers as Headers).get === 'function' ? (headers as Headers).get(name) : (headers as Record<string, unknown>)[name];
  for (const name of REPLAYABLE_HEADERS) {
    const v = get(name);
    if (typeof v === 'string' && v !== '') out[name] = v;
  }
  return out;
}

/** Sends a stored response as it was, plus `extraHeaders` (e.g. Idempotent-Replayed, Age, X-Tollgate-Cache). */
export function sendStored(res: Response, stored: StoredResponse, extraHeaders: Record<string, string> = {}): void {
  res.status(stored.status);
  for (const [k, v] of Object.entries(stored.headers)) res.setHeader(k, v);
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  if (stored.sseText !== undefined) {
    res.setHeader('Content-Type', stored.contentType || 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.end(stored.sseText);
    return;
  }
  res.setHeader('Content-Type', stored.contentType || 'application/json');
  if (stored.bodyJson !== undefined) res.end(JSON.stringify(stored.bodyJson));
  else res.end(stored.bodyText ?? '');
}
