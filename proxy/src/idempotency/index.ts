/**
 * Idempotency-Key (IETF httpapi draft + Stripe semantics) and key-less duplicate detection, stored
 * in `request_log` so every replica sees them.
 *
 * Typical use for a POST with an `Idempotency-Key` header:
 * ```ts
 * const key = parseIdempotencyKey(req.headersDistinct['idempotency-key']);  // 400 on a malformed key
 * const fp = requestFingerprint('POST', path, body);
 * const idem = { tenant, requestHash: idempotencyKeyHash(key), keyHash: idempotencyKeyHash(key), fingerprint: fp,
 *                method: 'POST', path, endpoint, ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS };
 * const r = await store.acquire(idem, config.IDEMPOTENCY_WAIT_MS);
 * switch (r.kind) {
 *   case 'replay':      sendStored(res, r.stored, { 'Idempotent-Replayed': 'true', Age: String(r.ageSeconds) });
 *                       // log cache_status r.waited ? 'coalesced' : 'idempotent_replay', cost 0, cost_saved r.costUsd
 *   case 'mismatch':    throw keyMismatchError();    // 422
 *   case 'in_progress': throw keyInProgressError();  // 409 after the bounded wait
 *   case 'failed':      sendSharedFailure(res, ctx, r.stored);  // the attempt this caller waited on failed (429, 5xx): its answer
 *   case 'owner':       run it; then isStorableStatus(status) ? store.complete(r.lease, stored, cost, usage?) : store.release(r.lease, failure?)
 *                       // also release on network failure or a cut stream; for a stream store { sseText: transcript };
 *                       // for a JSON answer store { bodyText: the exact text sent, bodyJson: its parse }: replays send bodyText verbatim
 * }
 * ```
 * - `IdempotencyStore(pool, {leaseMs})`: `begin`, `acquire(req, waitMs, signal?)` (→ result + `waited`),
 *   `complete(lease, stored, costUsd, usage?)`, `release(lease, failure?)` (failure: the answer for this process's waiters), `findCompleted(tenant, requestHash)` and
 *   `record(req, stored, costUsd, usage?)` for key-less dedup (requestHash = dedupRequestHash(fingerprint)), `close()`.
 *   A `Replay` carries `stored` (bodyText kept byte for byte in request_log.response_raw), `costUsd` and the
 *   original call's `usage` when it was stored: log the replay row with it (tokens, cost 0, cost_saved costUsd).
 * - Keys are scoped by tenant (never shared across API keys) and stored only as a hash; the
 *   fingerprint covers method, path (without /v1) and the canonical body.
 * - Replays carry `Idempotent-Replayed: true`; retention IDEMPOTENCY_TTL_SECONDS (24 h).
 */
export {
  parseIdempotencyKey,
  idempotencyKeyHash,
  requestFingerprint,
  dedupRequestHash,
  keyMismatchError,
  keyInProgressError,
  isStorableStatus,
  MAX_KEY_LENGTH,
  rawBodyDigest,
} from './keys.js';
export { IdempotencyStore, type IdempotentRequest, type IdempotencyLease, type BeginResult, type Replay } from './store.js';
