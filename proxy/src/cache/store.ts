import type { Pool } from '../db/pool.js';
import { jsonColumnOf, type StoredResponse } from '../sse/stored.js';
import { LruMap } from './lru.js';

/**
 * One cached answer. `bodyJson` is always the non-streamed form; `bodyText` its exact text when
 * known (the upstream JSON of a non-streamed answer: a JSON hit sends it verbatim); `sseText` the
 * recorded stream, if it came from one. A put with only `bodyText` gets `bodyJson` parsed from it.
 */
export interface CacheEntry {
  tenant: string;
  key: string;
  path: string;
  endpoint: string;
  model: string;
  status: number;
  headers: Record<string, string>;
  bodyJson: unknown;
  bodyText?: string;
  sseText?: string;
  usage?: unknown;
  /** What the original upstream call cost (null when the model has no price): a hit's cost_saved_usd. */
  costUsd: number | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface CacheHit {
  entry: CacheEntry;
  /** Seconds since the entry was stored: the `Age` header. */
  ageSeconds: number;
  /** Served from the in-process LRU without a database round trip. */
  fromMemory: boolean;
}

export type CachePut = Omit<CacheEntry, 'createdAt' | 'expiresAt'> & { ttlSeconds: number };

interface Row {
  path: string;
  endpoint: string;
  model: string;
  status_code: number;
  response_json: unknown;
  response_raw: string | null;
  sse_text: string | null;
  response_headers: Record<string, string> | null;
  usage_json: unknown;
  cost_usd: number | null;
  created_at: Date;
  expires_at: Date;
}

/**
 * The response cache: rows in Postgres (`response_cache`, unique per tenant + key, with expiry) and
 * a bounded in-process LRU in front for hot entries. Every replica reads the same rows, so an
 * answer cached by one is a hit on all. The LRU holds an entry until its own expiry, but for at
 * most `memoryTtlMs` (default 30 s) without looking at its row again, so a refresh (`no-cache`) on
 * another replica reaches this one within that time.
 * Hit counters are batched in memory and written every `hitFlushMs` (and on close).
 */
export class ResponseCache {
  private readonly lru: LruMap<string, { entry: CacheEntry; loadedAt: number }>;
  private readonly hits = new Map<string, { tenant: string; key: string; n: number; at: Date }>();
  private hitTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    opts: { lruEntries: number; hitFlushMs?: number; memoryTtlMs?: number } = { lruEntries: 1000 },
  ) {
    this.lru = new LruMap(opts.lruEntries);
    this.hitFlushMs = opts.hitFlushMs ?? 2000;
    this.memoryTtlMs = opts.memoryTtlMs ?? 30_000;
  }
  private readonly hitFlushMs: number;
  private readonly memoryTtlMs: number;

  private static id(tenant: string, key: string): string {
    return `${tenant}\u0000${key}`;
  }

  /** The live entry for (tenant, key), if any, and no older than maxAgeSeconds when given. */
  async get(tenant: string, key: string, opts: { maxAgeSeconds?: number } = {}): Promise<CacheHit | undefined> {
    const now = Date.now();
    const id = ResponseCache.id(tenant, key);
    const held = this.lru.get(id);
    let entry = held?.entry;
    let fromMemory = true;
    const loadedAt = held?.loadedAt ?? 0;
    // An entry too old for this request may have been refreshed by another replica: ask its row.
    const tooOld = entry && opts.maxAgeSeconds !== undefined && now - entry.createdAt.getTime() > opts.maxAgeSeconds * 1000;
    if (entry && (entry.expiresAt.getTime() <= now || now - loadedAt > this.memoryTtlMs || tooOld)) {
      this.lru.delete(id);
      entry = undefined;
    }
    if (!entry) {
      fromMemory = false;
      const { rows } = await this.pool.query<Row>(
        `SELECT path, endpoint, model, status_code, response_json, response_raw, sse_text, response_headers, usage_json, cost_usd, created_at, expires_at
           FROM response_cache WHERE tenant = $1 AND cache_key = $2 AND expires_at > now()`,
        [tenant, key],
      );
      const row = rows[0];
      if (!row) return undefined;
      entry = {
        tenant,
        key,
        path: row.path,
        endpoint: row.endpoint,
        model: row.model,
        status: row.status_code,
        headers: row.response_headers ?? {},
        bodyJson: row.response_json,
        ...(row.response_raw !== null ? { bodyText: row.response_raw } : {}),
        ...(row.sse_text !== null ? { sseText: row.sse_text } : {}),
        ...(row.usage_json !== null ? { usage: row.usage_json } : {}),
        costUsd: row.cost_usd,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      };
      this.lru.set(id, { entry, loadedAt: now });
    }
    const ageSeconds = Math.max(0, Math.floor((now - entry.createdAt.getTime()) / 1000));
    if (opts.maxAgeSeconds !== undefined && ageSeconds > opts.maxAgeSeconds) return undefined;
    this.countHit(tenant, key);
    return { entry, ageSeconds, fromMemory };
  }

  /** Stores (or replaces) an entry; the caller has checked it is a complete, successful answer. */
  async put(p: CachePut): Promise<CacheEntry> {
    const { rows } = await this.pool.query<{ created_at: Date; expires_at: Date }>(
      `INSERT INTO response_cache (tenant, cache_key, path, endpoint, model, status_code, response_json, sse_text,
                                   response_headers, usage_json, cost_usd, expires_at, response_raw)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() + make_interval(secs => $12), $13)
       ON CONFLICT (tenant, cache_key) DO UPDATE SET
         path = EXCLUDED.path, endpoint = EXCLUDED.endpoint, model = EXCLUDED.model, status_code = EXCLUDED.status_code,
         response_json = EXCLUDED.response_json, response_raw = EXCLUDED.response_raw, sse_text = EXCLUDED.sse_text, response_headers = EXCLUDED.response_headers,
         usage_json = EXCLUDED.usage_json, cost_usd = EXCLUDED.cost_usd, created_at = now(), expires_at = EXCLUDED.expires_at,
         hit_count = 0, last_hit_at = NULL
       RETURNING created_at, expires_at`,
      [
        p.tenant,
        p.key,
        p.path,
        p.endpoint,
        p.model,
        p.status,
        jsonColumnOf(p),
        p.sseText ?? null,
        JSON.stringify(p.headers),
        p.usage === undefined ? null : JSON.stringify(p.usage),
        p.costUsd,
        p.ttlSeconds,
        p.bodyText ?? null,
      ],
    );
    const { ttlSeconds: _ttl, ...rest } = p;
    const entry: CacheEntry = { ...rest, createdAt: rows[0]!.created_at, expiresAt: rows[0]!.expires_at };
    if (entry.bodyJson === undefined && entry.bodyText !== undefined) entry.bodyJson = JSON.parse(entry.bodyText);
    this.lru.set(ResponseCache.id(p.tenant, p.key), { entry, loadedAt: Date.now() });
    return entry;
  }

  /** Drops an entry (both layers). */
  async delete(tenant: string, key: string): Promise<void> {
    this.lru.delete(ResponseCache.id(tenant, key));
    await this.pool.query('DELETE FROM response_cache WHERE tenant = $1 AND cache_key = $2', [tenant, key]);
  }

  /** Forgets the in-process layer (tests; or after a bulk purge in the database). */
  clearMemory(): void {
    this.lru.clear();
  }

  get memoryEntries(): number {
    return this.lru.size;
  }

  private countHit(tenant: string, key: string): void {
    const id = ResponseCache.id(tenant, key);
    const h = this.hits.get(id);
    if (h) {
      h.n++;
      h.at = new Date();
    } else this.hits.set(id, { tenant, key, n: 1, at: new Date() });
    if (!this.hitTimer) {
      this.hitTimer = setTimeout(() => {
        this.hitTimer = undefined;
        void this.flushHits().catch(() => undefined);
      }, this.hitFlushMs);
      this.hitTimer.unref();
    }
  }

  /** Writes the batched hit counters (hit_count, last_hit_at). */
  async flushHits(): Promise<void> {
    if (this.hits.size === 0) return;
    const batch = [...this.hits.values()];
    this.hits.clear();
    await this.pool.query(
      `UPDATE response_cache c SET hit_count = c.hit_count + h.n, last_hit_at = GREATEST(COALESCE(c.last_hit_at, h.at), h.at)
         FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[]) AS h(tenant, cache_key, n, at)
        WHERE c.tenant = h.tenant AND c.cache_key = h.cache_key`,
      [batch.map((h) => h.tenant), batch.map((h) => h.key), batch.map((h) => h.n), batch.map((h) => h.at)],
    );
  }

  async close(): Promise<void> {
    if (this.hitTimer) clearTimeout(this.hitTimer);
    this.hitTimer = undefined;
    await this.flushHits().catch(() => undefined);
  }
}

/** A cache entry as a StoredResponse (the JSON shape, its exact text when known; see sseForRequest for streaming callers). */
export function entryAsStored(entry: CacheEntry): StoredResponse {
  return {
    status: entry.status,
    headers: entry.headers,
    contentType: 'application/json',
    bodyJson: entry.bodyJson,
    ...(entry.bodyText !== undefined ? { bodyText: entry.bodyText } : {}),
  };
}
