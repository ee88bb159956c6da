import type { IncomingHttpHeaders } from 'node:http';

// RFC 9110 §7.6.1 hop-by-hop fields, plus what the proxy itself owns (host, length and encoding
// are recomputed per hop) and the proxy's own request headers, which upstream must not see.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization',
]);
const REQUEST_DROP = new Set([...HOP_BY_HOP, 'host', 'content-length', 'idempotency-key', 'x-tollgate-cache', 'expect']);
// Upstream infrastructure headers that only make sense between OpenAI's edge and us.
const RESPONSE_DROP = new Set([
  ...HOP_BY_HOP, 'content-length', 'set-cookie', 'cf-ray', 'cf-cache-status', 'server', 'alt-svc',
  'strict-transport-security', 'date',
]);

function connectionListed(headers: IncomingHttpHeaders | Record<string, unknown>): ReadonlySet<string> {
  const c = headers['connection'];
  const value = Array.isArray(c) ? c.join(',') : typeof c === 'string' ? c : '';
  // `Connection: keep-alive` (nearly every request and answer) lists nothing to drop beyond the hop-by-hop set.
  if (value === '' || value.toLowerCase() === 'keep-alive') return NOTHING_LISTED;
  return new Set(value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}
const NOTHING_LISTED: ReadonlySet<string> = new Set();

export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  opts: { fallbackApiKey?: string; identityEncoding: boolean; bodyLength?: number },
): Record<string, string | string[]> {
  const listed = connectionListed(incoming);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || REQUEST_DROP.has(name) || listed.has(name) || name.startsWith('x-tollgate-')) continue;
    out[name] = value;
  }
  if (!out['authorization'] && !out['api-key'] && opts.fallbackApiKey) out['authorization'] = `Bearer ${opts.fallbackApiKey}`;
  // The proxy reads usage from JSON and SSE bodies, so it asks for them uncompressed.
  if (opts.identityEncoding) out['accept-encoding'] = 'identity';
  if (opts.bodyLength !== undefined) out['content-length'] = String(opts.bodyLength);
  else if (incoming['content-length']) out['content-length'] = incoming['content-length'];
  // A body of unknown length (chunked upload) is sent chunked by undici itself: it refuses a
  // caller-set transfer-encoding header.
  return out;
}

export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>, keepLength: boolean) {
  const listed = connectionListed(upstream);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || listed.has(name)) continue;
    if (RESPONSE_DROP.has(name) && !(keepLength && name === 'content-length')) continue;
    out[name] = value;
  }
  return out;
}
