import { hashCanonical } from '../canonical.js';

/** Body members that change only the response's framing, not the answer: they do not split entries. */
export const KEY_IGNORED_MEMBERS = ['stream', 'stream_options'] as const;

/** Strips a leading /v1 and trailing slashes, so `/chat/completions` and `/v1/chat/completions` share entries. */
export function normalisePath(path: string): string {
  return path.split('?')[0]!.replace(/^\/v1(?=\/|$)/, '').replace(/\/+$/, '') || '/';
}

/**
 * The response-cache key: SHA-256 of the canonical JSON of {tenant, path, body without stream /
 * stream_options}. Key order in the body does not matter; the tenant is part of the key (and of the
 * table's unique key), so entries never cross tenants.
 */
export function responseCacheKey(tenant: string, path: string, body: unknown): string {
  let b = body;
  if (b && typeof b === 'object' && !Array.isArray(b)) {
    const copy: Record<string, unknown> = { ...(b as Record<string, unknown>) };
    for (const k of KEY_IGNORED_MEMBERS) delete copy[k];
    b = copy;
  }
  return hashCanonical({ v: 1, tenant, path: normalisePath(path), body: b });
}
