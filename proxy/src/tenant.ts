import { createHash } from 'node:crypto';

/** Credential as the caller sent it: `Authorization: Bearer <key>` or Azure-style `api-key`. */
export function credentialOf(headers: { authorization?: string; 'api-key'?: string | string[] }): string | undefined {
  const auth = headers.authorization;
  if (auth) {
    const m = /^\s*Bearer\s+(.+?)\s*$/i.exec(auth);
    return m ? m[1] : auth.trim();
  }
  const apiKey = headers['api-key'];
  if (typeof apiKey === 'string' && apiKey.trim()) return apiKey.trim();
  return undefined;
}

/**
 * The tenant is a hash of the caller's credential, so cache and idempotency entries are scoped
 * to it and the database never holds a key. Callers without one share the 'anonymous' tenant.
 */
export function tenantOf(credential: string | undefined): string {
  if (!credential) return 'anonymous';
  let tenant = tenants.get(credential);
  if (tenant === undefined) {
    tenant = `t_${createHash('sha256').update(credential).digest('hex').slice(0, 24)}`;
    // A few thousand keys at most in practice; a flood of random keys only resets the memo.
    if (tenants.size >= 10_000) tenants.clear();
    tenants.set(credential, tenant);
  }
  return tenant;
}

/** Hashing every request's key again costs more than the rest of naming its call. */
const tenants = new Map<string, string>();
