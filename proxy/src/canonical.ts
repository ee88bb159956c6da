import { createHash } from 'node:crypto';

/**
 * Canonical JSON: the same value always serialises to the same string, whatever the key order.
 * Object keys are sorted (by UTF-16 code unit, like Array#sort), `undefined` members are dropped
 * (as JSON.stringify does), arrays keep their order, and numbers use JSON's shortest form, so
 * `1.0` and `1` are the same. Non-finite numbers become `null`, as in JSON.stringify.
 * Used for every cache key, idempotency fingerprint and persona input hash.
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, new Set());
}

function serialise(value: unknown, seen: Set<object>): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      // functions and symbols: JSON drops them from objects and nulls them in arrays
      return 'null';
  }
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError('canonicalJson: circular structure');
  seen.add(obj);
  try {
    const withToJson = obj as { toJSON?: () => unknown };
    if (typeof withToJson.toJSON === 'function') return serialise(withToJson.toJSON(), seen);
    if (Array.isArray(obj)) return `[${obj.map((v) => serialise(v, seen)).join(',')}]`;
    const rec = obj as Record<string, unknown>;
    const parts: string[] = [];
    for (const k of Object.keys(rec).sort()) {
      const v = rec[k];
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      parts.push(`${JSON.stringify(k)}:${serialise(v, seen)}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    seen.delete(obj);
  }
}

/** Lower-case hex SHA-256 of a string (UTF-8) or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of the canonical JSON of a value: equal for values that differ only in key order. */
export function hashCanonical(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
