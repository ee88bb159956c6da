import { randomUUID } from 'node:crypto';
import { idempotencyKeyHash, requestFingerprint } from '../../proxy/src/idempotency/keys.js';
import type { IdempotentRequest } from '../../proxy/src/idempotency/store.js';

/** A keyed chat request of a tenant of its own, for the idempotency store's tests. */
export function idemRequest(over: Partial<IdempotentRequest> = {}): IdempotentRequest {
  const keyHash = idempotencyKeyHash(randomUUID());
  return {
    tenant: `t_${randomUUID()}`,
    requestHash: keyHash,
    keyHash,
    fingerprint: requestFingerprint('POST', '/v1/chat/completions', { n: 1 }),
    method: 'POST',
    path: '/v1/chat/completions',
    endpoint: 'chat.completions',
    ttlSeconds: 60,
    ...over,
  };
}
