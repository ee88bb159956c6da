import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { endpointOf } from '../endpoint.js';
import { credentialOf, tenantOf } from '../tenant.js';
import { headerTags, headerUser } from './attribution.js';
import { LastByteHold } from './lastByte.js';

/** What the proxy knows about one call, filled in as the call progresses, logged at the end. */
export interface CallContext {
  requestId: string;
  tenant: string;
  credential: string | undefined;
  method: string;
  /** Path as the caller sent it, with query. */
  path: string;
  /** Path below the upstream base URL (`/v1` prefix removed), with query. */
  upstreamPath: string;
  endpoint: string;
  model: string | undefined;
  stream: boolean;
  /** Parsed JSON body, when the request had one. */
  json: Record<string, unknown> | undefined;
  /** That body's text (decoded), for what JSON.parse loses: see jsonText.ts. */
  jsonText?: string;
  /** SHA-256 of a non-JSON body held for an Idempotency-Key fingerprint (see keys.ts rawBodyDigest). */
  bodyDigest?: string;
  startedAt: number;
  upstreamSentAt?: number;
  upstreamEndedAt?: number;
  firstByteAt?: number;
  clientAborted: boolean;
  /** Attribution the caller sent as headers (X-Tollgate-User, X-Tollgate-Tags); see attribution.ts. */
  appUser: string | undefined;
  tags: string[] | undefined;
  /** The response's end, held until the call's row is on disk (lastByte.ts); none without a response. */
  lastByte: LastByteHold | undefined;
}

/**
 * Opens a call: its request id (also sent as `x-tollgate-request-id`), tenant and endpoint name.
 * `/v1` is stripped here, once: `upstreamPath` is what goes below UPSTREAM_BASE_URL. Tollgate's own
 * routes name their endpoint (`personas.generate`) and have no upstream path. The response's end
 * waits for recordCall: every route that opens a call with its response must record it.
 */
export function openCall(req: IncomingMessage, res: ServerResponse | undefined, own?: { endpoint: string }): CallContext {
  // Inside express's /api router req.url lost its mount point; the row keeps the path as sent.
  const path = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  const credential = credentialOf(req.headers as { authorization?: string; 'api-key'?: string });
  const ctx: CallContext = {
    requestId: randomUUID(),
    tenant: tenantOf(credential),
    credential,
    method: req.method ?? 'GET',
    path,
    upstreamPath: own ? path : stripV1(path),
    endpoint: own ? own.endpoint : endpointOf(path, req.method),
    model: undefined,
    stream: false,
    json: undefined,
    startedAt: performance.now(),
    clientAborted: false,
    // headersDistinct: Node joins a repeated header's values with ", ", which would read as one user.
    appUser: headerUser(req.headers['x-tollgate-user'] === undefined ? undefined : req.headersDistinct['x-tollgate-user']),
    tags: headerTags(req.headers['x-tollgate-tags']),
    lastByte: res ? new LastByteHold(res) : undefined,
  };
  if (res && !res.headersSent) res.setHeader('x-tollgate-request-id', ctx.requestId);
  return ctx;
}

function stripV1(path: string): string {
  return path.startsWith('/v1') && (path.length === 3 || path[3] === '/' || path[3] === '?') ? path.slice(3) || '/' : path;
}

/** Milliseconds between two marks, or null when either mark was never reached. */
export const elapsed = (from: number | undefined, to: number | undefined) =>
  from === undefined || to === undefined ? null : Math.max(0, Math.round(to - from));
