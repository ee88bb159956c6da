/**
 * Response cache for /v1/chat/completions, /v1/responses and /v1/embeddings.
 *
 * - `cachePolicy(path, headers, config) → { enabled, lookup, store, ttlSeconds, maxAgeSeconds?, onlyIfCached, reason }`:
 *   opt-in via `X-Tollgate-Cache: on`, `Cache-Control: max-age=N | no-cache | only-if-cached` or RESPONSE_CACHE_ENDPOINTS;
 *   `no-cache` refreshes (no lookup, store), `only-if-cached` never goes upstream (a miss is a 504),
 *   `no-store` neither reads nor writes (wins over the others); `X-Tollgate-Cache: off` opts out (wins over everything).
 *   Answer header: `X-Tollgate-Cache: HIT` (+ `Age`) / `MISS` (enabled, not served from cache) / `BYPASS` (not enabled).
 * - `responseCacheKey(tenant, path, body)`: sha256 of canonical {tenant, path without /v1, body minus stream/stream_options}.
 * - `new ResponseCache(pool, {lruEntries})`: `get(tenant, key, {maxAgeSeconds}) → {entry, ageSeconds, fromMemory} | undefined`,
 *   `put({tenant, key, path, endpoint, model, status, headers, bodyJson, bodyText?, sseText?, usage?, costUsd, ttlSeconds})`,
 *   `delete`, `close()` (flushes batched hit counters). Store only complete 2xx answers: check with
 *   `isCompleteJson` / `analyseStream(...).complete` from ../sse. `bodyJson` must be the non-streamed
 *   form (for a stream: `analyseStream(kind, transcript).json`), `bodyText` its exact upstream text when
 *   it came as JSON (kept in response_raw; `entryAsStored(entry)` passes it on, so a JSON hit is byte for
 *   byte what upstream sent, from memory or from Postgres), `sseText` the recording.
 *   Serve a hit with `sseForRequest(kind, entry, {includeUsage: wantsUsage(body)})` when the caller streams, else `sendStored(res, entryAsStored(entry))`.
 * - `cleanupExpired(pool, opts?)`, `startCleanup(pool, intervalMs, logger, opts?) → stop`: periodic deletion of expired
 *   response_cache, persona_cache, request_log and stale inflight_request rows (main.ts should start it
 *   with CACHE_CLEANUP_INTERVAL_MS).
 */
export { cachePolicy, parseCacheControl, CACHEABLE_ENDPOINTS, type CachePolicy } from './policy.js';
export { responseCacheKey, normalisePath, KEY_IGNORED_MEMBERS } from './key.js';
export { ResponseCache, entryAsStored, type CacheEntry, type CacheHit, type CachePut } from './store.js';
export { cleanupExpired, startCleanup, type CleanupResult, type CleanupOptions } from './cleanup.js';
export { LruMap } from './lru.js';
