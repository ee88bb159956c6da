/**
 * Attribution of a call inside its tenant: the app's own user and tags, stored on the call-log row
 * (app_user, tags) so the Tenants page can say who inside a key spends. Headers win; without them
 * the request body's OpenAI fields are used (`user`, and `metadata` as `key:value` tags).
 *
 * Values are caller-controlled text landing in every row: bounded in length and count, control
 * characters dropped, so one caller cannot bloat the log. Never a secret: the key stays a hash.
 */
const MAX_USER = 200;
const MAX_TAG = 100;
const MAX_TAGS = 20;

function clean(value: string, max: number): string | undefined {
  // eslint-disable-next-line no-control-regex
  const v = value.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, max);
  return v === '' ? undefined : v;
}

/**
 * A header value as text: Node reads header bytes as Latin-1, so UTF-8 sent by a client (`用户`,
 * `café`) arrives as mojibake. Bytes that are valid UTF-8 are read as such; others stay Latin-1.
 */
function headerText(v: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\u0000-\u007f]/.test(v)) return v;
  const utf8 = Buffer.from(v, 'latin1').toString('utf8');
  return utf8.includes('\ufffd') ? v : utf8;
}

/** X-Tollgate-User; a repeated header counts once (the first: pass req.headersDistinct's values). */
export function headerUser(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined ? undefined : clean(headerText(v), MAX_USER);
}

/** X-Tollgate-Tags: comma-separated; repeated headers add up. Sorted and unique, so equal sets compare equal. */
export function headerTags(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const parts = headerText(Array.isArray(value) ? value.join(',') : value).split(',');
  return tagSet(parts);
}

function tagSet(parts: string[]): string[] | undefined {
  const tags = [...new Set(parts.map((t) => clean(t, MAX_TAG)).filter((t): t is string => t !== undefined))].sort();
  return tags.length ? tags.slice(0, MAX_TAGS) : undefined;
}

/** The body's `user` (a string, per OpenAI's API), when no header named one. */
export function bodyUser(json: Record<string, unknown> | undefined): string | undefined {
  const v = json?.user;
  return typeof v === 'string' ? clean(v, MAX_USER) : undefined;
}

/** The body's `metadata` (string values, per OpenAI's API) as `key:value` tags, when no header named any. */
export function bodyTags(json: Record<string, unknown> | undefined): string[] | undefined {
  const m = json?.metadata;
  if (!m || typeof m !== 'object' || Array.isArray(m)) return undefined;
  const parts = Object.entries(m as Record<string, unknown>)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    .map(([k, v]) => `${k}:${String(v)}`);
  return tagSet(parts);
}
