import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { endpointOf } from '../endpoint.js';
import { credentialOf, tenantOf } from '../tenant.js';

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
}

export function newCallContext(req: Request): CallContext {
  const path = req.originalUrl;
  const upstreamPath = path.replace(/^\/v1(?=\/|\?|$)/, '') || '/';
  const credential = credentialOf(req.headers as { authorization?: string; 'api-key'?: string });
  return {
    requestId: randomUUID(),
    tenant: tenantOf(credential),
    credential,
    method: req.method,
    path,
    upstreamPath,
    endpoint: endpointOf(path),
    model: undefined,
    stream: false,
    json: undefined,
    startedAt: performance.now(),
    clientAborted: false,
  };
}

/** Milliseconds between two marks, or null when either mark was never reached. */
export const elapsed = (from: number | undefined, to: number | undefined) =>
  from === undefined || to === undefined ? null : Math.max(0, Math.round(to - from));
