import type { Config } from '../config.js';
import { endpointOf } from '../endpoint.js';

/** Endpoints whose answers may be cached (exact match on tenant + path + canonical body). */
export const CACHEABLE_ENDPOINTS = ['chat.completions', 'responses', 'embeddings'] as const;

/**
 * What the response cache does for one request.
 * - `lookup`: serve a stored answer if there is one no older than `maxAgeSeconds` (when set).
 * - `store`: write the upstream answer (if complete and successful) with `ttlSeconds`.
 * - `onlyIfCached`: a miss answers 504 instead of going upstream (RFC 9111 only-if-cached).
 * - `status`: the X-Tollgate-Cache value when nothing is found: 'MISS' if caching applies, 'BYPASS' if not.
 */
export interface CachePolicy {
  enabled: boolean;
  lookup: boolean;
  store: boolean;
  ttlSeconds: number;
  maxAgeSeconds?: number;
  onlyIfCached: boolean;
  reason: string;
}

type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Parses `Cache-Control` request directives (case-insensitive names, quoted values allowed). */
export function parseCacheControl(value: string | undefined): Map<string, string | true> {
  const out = new Map<string, string | true>();
  if (!value) return out;
  for (const part of value.split(',')) {
    const m = /^\s*([A-Za-z0-9_-]+)\s*(?:=\s*(?:"([^"]*)"|([^\s,]*)))?\s*$/.exec(part);
    if (!m) continue;
    out.set(m[1]!.toLowerCase(), m[2] ?? m[3] ?? true);
  }
  return out;
}

function seconds(v: string | true | undefined): number | undefined {
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return undefined;
  return Math.min(Number(v), 2 ** 31 - 1);
}

/**
 * Decides caching for a request from its headers and the config:
 * - opt in with `X-Tollgate-Cache: on` (also true/1/yes), with any of `Cache-Control: max-age=N`,
 *   `no-cache` or `only-if-cached`, or for every request to an endpoint listed in
 *   RESPONSE_CACHE_ENDPOINTS (`chat.completions`, `responses`, `embeddings`; `*` for all three);
 *   `X-Tollgate-Cache: off` opts out, and wins over everything;
 * - `Cache-Control: no-store` neither reads nor writes (it wins over the other directives);
 *   `no-cache` (or `max-age=0`) skips the lookup but stores the fresh answer (a refresh);
 *   `max-age=N` accepts only entries at most N s old; `only-if-cached` never goes upstream (a miss is a 504);
 * - `X-Tollgate-Cache-TTL: N` sets the stored entry's lifetime (default RESPONSE_CACHE_TTL_SECONDS).
 */
export function cachePolicy(
  path: string,
  headers: HeaderBag,
  config: Pick<Config, 'RESPONSE_CACHE_ENDPOINTS' | 'RESPONSE_CACHE_TTL_SECONDS'>,
): CachePolicy {
  const endpoint = endpointOf(path);
  const off = (reason: string): CachePolicy => ({ enabled: false, lookup: false, store: false, ttlSeconds: 0, onlyIfCached: false, reason });
  if (!(CACHEABLE_ENDPOINTS as readonly string[]).includes(endpoint)) return off('endpoint not cacheable');
  const cc = parseCacheControl(header(headers, 'cache-control'));
  const opt = header(headers, 'x-tollgate-cache')?.trim().toLowerCase();
  const maxAge = seconds(cc.get('max-age'));
  const configured = (config.RESPONSE_CACHE_ENDPOINTS as readonly string[]).some((e) => e === endpoint || e === '*');
  if (opt === 'off' || opt === 'false' || opt === '0' || opt === 'no' || opt === 'bypass') return off('x-tollgate-cache: off');
  if (cc.has('no-store')) return off('cache-control: no-store');
  const refresh = cc.has('no-cache') || maxAge === 0;
  const onlyIfCached = cc.has('only-if-cached');
  // Every Cache-Control directive that speaks of the cache is a request to use it: max-age=N,
  // no-cache / max-age=0 (refresh) and only-if-cached (never go upstream) opt in by themselves.
  const optedIn = opt === 'on' || opt === 'true' || opt === '1' || opt === 'yes' || maxAge !== undefined || refresh || onlyIfCached || configured;
  if (!optedIn) return off('not opted in');
  const ttlHeader = seconds(header(headers, 'x-tollgate-cache-ttl')?.trim());
  const ttlSeconds = ttlHeader && ttlHeader > 0 ? ttlHeader : config.RESPONSE_CACHE_TTL_SECONDS;
  return {
    enabled: true,
    lookup: !refresh,
    store: true,
    ttlSeconds,
    ...(maxAge !== undefined && maxAge > 0 ? { maxAgeSeconds: maxAge } : {}),
    onlyIfCached,
    reason: refresh ? 'refresh' : onlyIfCached ? 'only-if-cached' : 'opted in',
  };
}
