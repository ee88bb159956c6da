import type { ServerResponse } from 'node:http';

/**
 * A final response as stored by the idempotency store (request_log) or the response cache:
 * enough to send it again, byte for byte. A streamed response keeps its recorded event stream in
 * `sseText`. Any other keeps its exact body text in `bodyText` whenever it is known and, for a
 * JSON answer, the parsed body in `bodyJson` too (to read or re-shape it, e.g. to synthesise a
 * stream). `sendStored` sends `sseText`, else `bodyText` verbatim, else `JSON.stringify(bodyJson)`.
 */
export interface StoredResponse {
  status: number;
  /** Whitelisted response headers to replay (lower-case names), e.g. x-request-id, openai-processing-ms. */
  headers: Record<string, string>;
  contentType: string;
  /** The parsed JSON body (jsonb in the stores: its members may come back reordered). */
  bodyJson?: unknown;
  /** The recorded event stream of a streamed answer. */
  sseText?: string;
  /** The body exactly as first sent (the upstream JSON text, or our own serialisation); sent verbatim. */
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
export function sendStored(res: ServerResponse, stored: StoredResponse, extraHeaders: Record<string, string> = {}): void {
  res.statusCode = stored.status;
  for (const [k, v] of Object.entries(stored.headers)) res.setHeader(k, v);
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  if (stored.sseText !== undefined) {
    res.setHeader('Content-Type', stored.contentType || 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.end(stored.sseText);
    return;
  }
  res.setHeader('Content-Type', stored.contentType || 'application/json');
  if (stored.bodyText !== undefined) res.end(stored.bodyText);
  else res.end(stored.bodyJson !== undefined ? JSON.stringify(stored.bodyJson) : '');
}

/**
 * The jsonb parameter for a stored body: `bodyJson` when given, else `bodyText` when it is JSON
 * (null otherwise), so the response_json columns stay filled for the monitoring queries.
 */
export function jsonColumnOf(stored: { bodyJson?: unknown; bodyText?: string }): string | null {
  if (stored.bodyJson !== undefined) return JSON.stringify(stored.bodyJson);
  if (stored.bodyText === undefined) return null;
  try {
    JSON.parse(stored.bodyText);
    return stored.bodyText;
  } catch {
    return null;
  }
}
