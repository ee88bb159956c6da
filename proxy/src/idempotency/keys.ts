import { createHash } from 'node:crypto';
import { hashCanonical, sha256Hex } from '../canonical.js';
import { normalisePath } from '../cache/key.js';
import { ProxyError } from '../call/errors.js';

/** Longest accepted Idempotency-Key (Stripe's limit). */
export const MAX_KEY_LENGTH = 255;

/**
 * The Idempotency-Key header's value, or undefined when absent. Accepts the draft's RFC 8941
 * String form (`"abc"`) and the bare tokens real clients send; rejects (400) empty, over-long or
 * non-printable keys.
 */
export function parseIdempotencyKey(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (value.length !== 1) throw invalidKey('Send exactly one Idempotency-Key header.');
    value = value[0]!;
  }
  let key = value.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1).replace(/\\(["\\])/g, '$1');
  if (key === '') throw invalidKey('The Idempotency-Key header is empty.');
  if (key.length > MAX_KEY_LENGTH) throw invalidKey(`The Idempotency-Key header is longer than ${MAX_KEY_LENGTH} characters.`);
  if (!/^[\x20-\x7e]+$/.test(key)) throw invalidKey('The Idempotency-Key header must be printable ASCII.');
  return key;
}

function invalidKey(message: string): ProxyError {
  return new ProxyError({ status: 400, message, code: 'invalid_idempotency_key', param: 'Idempotency-Key', retry: false });
}

/** request_log.request_hash (and key_hash) for a client key: the key itself is never stored. */
export function idempotencyKeyHash(key: string): string {
  return `key:${sha256Hex(`tollgate-idempotency-key\u0000${key}`)}`;
}

/** The request fingerprint: method, path (without /v1) and canonical body; the same key with another fingerprint is a 422. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return hashCanonical({ method: method.toUpperCase(), path: normalisePath(path), body: body ?? null });
}

/**
 * Digest of a non-JSON body (a multipart upload) for its fingerprint. The multipart boundary is
 * chosen afresh by each send, so it is replaced by a fixed one: an SDK retry of the same upload is
 * the same request, another file or field is not.
 */
export function rawBodyDigest(body: Buffer, contentType: string | undefined): string {
  const digest = new RawBodyDigest(contentType);
  digest.update(body);
  return digest.digest();
}

/** rawBodyDigest fed chunk by chunk (an upload too large to hold), with the same result. */
export class RawBodyDigest {
  private readonly hash = createHash('sha256');
  private readonly marker: Buffer | undefined;
  /** The last bytes seen, which may be the start of a marker that the next chunk completes. */
  private carry = Buffer.alloc(0);

  constructor(private readonly contentType: string | undefined) {
    const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
    this.marker = boundary ? Buffer.from(`--${boundary[1] ?? boundary[2]}`) : undefined;
  }

  update(chunk: Buffer): void {
    const marker = this.marker;
    if (!marker) {
      this.hash.update(chunk);
      return;
    }
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    let from = 0;
    for (let at = buf.indexOf(marker, from); at >= 0; at = buf.indexOf(marker, from)) {
      this.hash.update(buf.subarray(from, at)).update('--tollgate-boundary');
      from = at + marker.length;
    }
    // A marker starting before `safe` would have been found whole; what follows may be one's start.
    const safe = Math.max(from, buf.length - (marker.length - 1));
    this.hash.update(buf.subarray(from, safe));
    this.carry = Buffer.from(buf.subarray(safe));
  }

  digest(): string {
    this.hash.update(this.carry);
    return `raw:${(this.contentType ?? '').split(';')[0]!.trim().toLowerCase()}:${this.hash.digest('hex')}`;
  }
}

/** request_log.request_hash for key-less duplicate detection: the fingerprint itself, marked as such. */
export function dedupRequestHash(fingerprint: string): string {
  return `dedup:${fingerprint}`;
}

/** 422: the key was used before with a different request (the SDK does not retry it). */
export function keyMismatchError(): ProxyError {
  return new ProxyError({ status: 422, message: 'This Idempotency-Key was already used with a different request. Use a new key for a new request.', type: 'idempotency_error', code: 'idempotency_key_mismatch', param: 'Idempotency-Key', retry: false });
}

/** 409: the first request with this key is still running after the bounded wait (the SDK retries 409). */
export function keyInProgressError(): ProxyError {
  return new ProxyError({ status: 409, message: 'A request with this Idempotency-Key is still being processed. Retry shortly to get its result.', type: 'idempotency_error', code: 'idempotency_request_in_progress', param: 'Idempotency-Key', retry: true });
}

/**
 * Whether a final upstream answer may be stored for an idempotency key: everything except 5xx,
 * 429 and 408 (and network failures, which have no status), so that a retry can still succeed.
 */
export function isStorableStatus(status: number): boolean {
  return status < 500 && status !== 429 && status !== 408;
}
