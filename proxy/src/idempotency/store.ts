import type { Pool } from '../db/pool.js';
import { Wakeups } from '../db/wakeups.js';
import { jsonColumnOf, type StoredResponse } from '../sse/stored.js';
import type { Usage } from '../usage/types.js';
import { isStorableStatus } from './keys.js';

/** What identifies one idempotent request: see keys.ts for the hashes. */
export interface IdempotentRequest {
  tenant: string;
  /** Lookup key within the tenant: idempotencyKeyHash(key) or dedupRequestHash(fingerprint). */
  requestHash: string;
  /** idempotencyKeyHash(key) for keyed requests, null for key-less dedup. */
  keyHash: string | null;
  fingerprint: string;
  method: string;
  path: string;
  endpoint: string;
  /** Retention of the stored response (IDEMPOTENCY_TTL_SECONDS, or the dedup window). */
  ttlSeconds: number;
}

/** The right to run the request: held by exactly one caller per (tenant, requestHash). */
export interface IdempotencyLease {
  readonly id: string;
  readonly request: IdempotentRequest;
}

export interface Replay {
  kind: 'replay';
  stored: StoredResponse;
  /** Seconds since the stored response was completed (for an `Age` header). */
  ageSeconds: number;
  /** Cost of the original upstream call: a replay's cost_saved_usd. */
  costUsd: number | null;
  /** Tokens of the original upstream call, when they were stored: a replay's row carries them. */
  usage?: Usage;
}

export type BeginResult =
  | { kind: 'owner'; lease: IdempotencyLease }
  | Replay
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

/**
 * What acquire() ends with: begin()'s outcomes, or `failed`: the attempt this caller was waiting on
 * failed (429, 5xx, network) in this process, and its answer is this caller's answer too, instead
 * of every waiter running the request again against a failing upstream.
 */
export type AcquireResult = (BeginResult | { kind: 'failed'; stored: StoredResponse } | { kind: 'abandoned' }) & { waited: boolean };

/** A failed attempt's answer, for the callers of this process that were waiting on it. */
interface SharedFailure {
  seq: number;
  fingerprint: string;
  stored: StoredResponse;
}

interface Row {
  id: string;
  fingerprint: string;
  state: 'in_progress' | 'completed';
  status_code: number | null;
  content_type: string | null;
  response_headers: Record<string, string> | null;
  response_json: unknown;
  response_text: string | null;
  response_raw: string | null;
  usage_json: Usage | null;
  cost_usd: number | null;
  expired: boolean;
  lease_expired: boolean;
  age_seconds: number | null;
}

const SELECT_COLUMNS = `id, fingerprint, state, status_code, content_type, response_headers, response_json, response_text, response_raw, usage_json, cost_usd,
  expires_at <= now() AS expired, COALESCE(lease_until <= now(), true) AS lease_expired,
  GREATEST(0, floor(extract(epoch FROM now() - COALESCE(completed_at, created_at))))::int AS age_seconds`;


/**
 * status_code, content_type, response_headers, response_json, response_text, response_raw of a stored
 * response: response_text holds a recorded event stream, response_raw the exact body text
 * (replayed verbatim), response_json the parsed body (jsonb, for queries; reorders members).
 */
function storedColumns(stored: StoredResponse): [number, string, string, string | null, string | null, string | null] {
  return [
    stored.status,
    stored.contentType,
    JSON.stringify(stored.headers),
    jsonColumnOf(stored),
    stored.sseText ?? null,
    stored.bodyText ?? null,
  ];
}

/**
 * Idempotency keys and key-less duplicate detection on `request_log` (one row per tenant +
 * request_hash), shared by every replica through Postgres:
 *
 * - `begin(req)` claims the row (INSERT … ON CONFLICT DO NOTHING): `owner` runs the request;
 *   otherwise `replay` (completed, same fingerprint), `mismatch` (different fingerprint → 422) or
 *   `in_progress`. Expired rows are replaced; an in-progress row whose lease ran out (crashed owner)
 *   is taken over (its id changes, so the old owner can no longer complete it).
 * - `complete(lease, stored, costUsd)` stores the final response (4xx included; check isStorableStatus);
 *   `release(lease)` deletes the row (5xx / 429 / network failure / client gone) so a retry runs again.
 * - `acquire(req, waitMs)`: begin, and while in progress wait (poll with backoff, woken at once by a
 *   completion or release in any replica: Wakeups, LISTEN/NOTIFY) until replay / owner (the first one released) / mismatch, or
 *   `in_progress` after waitMs → answer 409.
 * - `findCompleted(tenant, requestHash)` / `record(req, stored, costUsd)`: key-less dedup, a completed
 *   row looked up / written directly.
 * The lease is renewed while the owner works (every leaseMs / 3), so only a dead owner loses it.
 */
export class IdempotencyStore {
  private readonly wakeups: Wakeups;
  private readonly leaseMs: number;
  private readonly heartbeats = new Map<string, NodeJS.Timeout>();
  private readonly sharedFailures = new Map<string, SharedFailure>();
  /** Attempts whose caller has its answer while the row is still being completed or released. */
  private readonly answeredAttempts = new Set<string>();
  private failureSeq = 0;
  private longestWaitMs = 0;

  constructor(
    private readonly pool: Pool,
    opts: { leaseMs?: number; wakeups?: Wakeups } = {},
  ) {
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.wakeups = opts.wakeups ?? new Wakeups(pool);
  }

  /** Also a NOTIFY payload: text without NUL. */
  private static topic(tenant: string, requestHash: string): string {
    return `idem ${tenant} ${requestHash}`;
  }

  async begin(req: IdempotentRequest): Promise<BeginResult> {
    for (let attempt = 0; ; attempt++) {
      const inserted = await this.pool.query<{ id: string }>(
        `INSERT INTO request_log (request_hash, tenant, key_hash, fingerprint, method, path, endpoint, state, lease_until, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'in_progress', now() + make_interval(secs => $8), now() + make_interval(secs => $9))
         ON CONFLICT (tenant, request_hash) DO NOTHING RETURNING id`,
        [req.requestHash, req.tenant, req.keyHash, req.fingerprint, req.method, req.path, req.endpoint, this.leaseMs / 1000, req.ttlSeconds],
      );
      if (inserted.rows[0]) return { kind: 'owner', lease: this.lease(inserted.rows[0].id, req) };
      const { rows } = await this.pool.query<Row>(
        `SELECT ${SELECT_COLUMNS} FROM request_log WHERE tenant = $1 AND request_hash = $2`,
        [req.tenant, req.requestHash],
      );
      const row = rows[0];
      if (attempt > 20) throw new Error('idempotency: could not claim or read the request_log row');
      if (!row) continue; // deleted between the two statements: try again
      if (row.expired && (row.state === 'completed' || row.lease_expired)) {
        await this.pool.query('DELETE FROM request_log WHERE id = $1', [row.id]);
        continue;
      }
      if (row.fingerprint !== req.fingerprint) return { kind: 'mismatch' };
      if (row.state === 'completed') return this.replayOf(row);
      if (row.lease_expired) {
        const taken = await this.pool.query<{ id: string }>(
          `UPDATE request_log SET id = gen_random_uuid(), lease_until = now() + make_interval(secs => $2), created_at = now()
            WHERE id = $1 AND state = 'in_progress' AND lease_until <= now() RETURNING id`,
          [row.id, this.leaseMs / 1000],
        );
        if (taken.rows[0]) return { kind: 'owner', lease: this.lease(taken.rows[0].id, req) };
        continue;
      }
      return { kind: 'in_progress' };
    }
  }

  /** begin(), then wait up to waitMs while another request with the same key runs. */
  async acquire(req: IdempotentRequest, waitMs: number, signal?: AbortSignal): Promise<AcquireResult> {
    // A retry sent after the first caller got its answer (this process still storing it) is a
    // replay or a new attempt, never a waiter: it takes no shared failure and is not `waited`.
    const retry = this.answeredAttempts.has(IdempotencyStore.topic(req.tenant, req.requestHash));
    // Failures shared after this point are for this caller; earlier ones answered earlier callers.
    const since = retry ? Infinity : this.failureSeq;
    this.longestWaitMs = Math.max(this.longestWaitMs, waitMs);
    if (signal?.aborted) return { kind: 'abandoned', waited: false };
    const first = await this.claimUnlessFailed(req, since);
    if (signal?.aborted) return this.abandon(first, false);
    if (first.kind !== 'in_progress') return { ...first, waited: first.kind === 'failed' };
    const deadline = Date.now() + waitMs;
    let delay = 25;
    for (;;) {
      const remaining = deadline - Date.now();
      if (signal?.aborted) return { kind: 'abandoned', waited: true };
      if (remaining <= 0) return { kind: 'in_progress', waited: true };
      await this.wakeups.wait(IdempotencyStore.topic(req.tenant, req.requestHash), Math.min(delay, remaining), signal);
      delay = Math.min(delay * 1.5, 250);
      const failed = this.failureSince(req, since);
      if (failed) return { kind: 'failed', stored: failed, waited: true };
      const next = await this.claimUnlessFailed(req, since);
      if (signal?.aborted) return this.abandon(next, true);
      if (next.kind !== 'in_progress') return { ...next, waited: next.kind === 'failed' || !retry };
    }
  }

  /** The caller left: a key it just claimed goes back at once, so nobody pays for an answer nobody reads. */
  private async abandon(r: BeginResult | { kind: 'failed' }, waited: boolean): Promise<AcquireResult> {
    if (r.kind === 'owner') await this.release(r.lease);
    return { kind: 'abandoned', waited };
  }

  /**
   * begin(); but when an attempt that was running as this caller arrived failed meanwhile (its
   * release freed the key just before our claim), its answer is ours: the key is handed back.
   */
  private async claimUnlessFailed(req: IdempotentRequest, since: number): Promise<BeginResult | { kind: 'failed'; stored: StoredResponse }> {
    const r = await this.begin(req);
    const failed = r.kind === 'owner' ? this.failureSince(req, since) : undefined;
    if (r.kind !== 'owner' || !failed) return r;
    await this.release(r.lease);
    return { kind: 'failed', stored: failed };
  }

  /** The owner's caller has its answer; complete() or release() follows. */
  answered(lease: IdempotencyLease): void {
    // Already completed or released (no heartbeat left): nothing pending to mark.
    if (!this.heartbeats.has(lease.id)) return;
    this.answeredAttempts.add(IdempotencyStore.topic(lease.request.tenant, lease.request.requestHash));
  }

  private failureSince(req: IdempotentRequest, since: number): StoredResponse | undefined {
    const f = this.sharedFailures.get(IdempotencyStore.topic(req.tenant, req.requestHash));
    return f && f.seq > since && f.fingerprint === req.fingerprint ? f.stored : undefined;
  }

  /** Stores the final response; later begin() calls replay it until it expires (ttl from now). */
  async complete(lease: IdempotencyLease, stored: StoredResponse, costUsd: number | null, usage?: Usage): Promise<boolean> {
    this.stopHeartbeat(lease.id);
    const topic = IdempotencyStore.topic(lease.request.tenant, lease.request.requestHash);
    let res;
    try {
      res = await this.pool.query(
        `UPDATE request_log SET state = 'completed', status_code = $2, content_type = $3, response_headers = $4,
                response_json = $5, response_text = $6, response_raw = $7, cost_usd = $8, completed_at = now(), lease_until = NULL,
                expires_at = now() + make_interval(secs => $9), usage_json = $10
          WHERE id = $1 AND state = 'in_progress'`,
        [lease.id, ...storedColumns(stored), costUsd, lease.request.ttlSeconds, usage ? JSON.stringify(usage) : null],
      );
    } finally {
      this.answeredAttempts.delete(topic);
    }
    void this.wakeups.notify(topic);
    return (res.rowCount ?? 0) > 0;
  }

  /**
   * Gives the key up without storing anything (upstream 5xx / 429 / network failure, client gone),
   * so a later retry runs again. `failure`, the answer the owner got, goes to the callers of this
   * process already waiting on this attempt.
   */
  async release(lease: IdempotencyLease, failure?: StoredResponse): Promise<void> {
    this.stopHeartbeat(lease.id);
    const topic = IdempotencyStore.topic(lease.request.tenant, lease.request.requestHash);
    await this.pool
      .query(`DELETE FROM request_log WHERE id = $1 AND state = 'in_progress'`, [lease.id])
      .finally(() => this.answeredAttempts.delete(topic));
    if (failure) {
      const shared: SharedFailure = { seq: ++this.failureSeq, fingerprint: lease.request.fingerprint, stored: failure };
      this.sharedFailures.set(topic, shared);
      // No caller waits longer than its wait: by then nobody can take it.
      setTimeout(() => {
        if (this.sharedFailures.get(topic) === shared) this.sharedFailures.delete(topic);
      }, this.longestWaitMs + 1000).unref();
    }
    void this.wakeups.notify(topic);
  }

  /**
   * Ends an owner's failed attempt: an error that is the request's final answer (`final`: upstream
   * answered it, e.g. a 400) with a storable status is kept and replayed like a success; anything
   * else (5xx, 429, network, our own errors) releases the key so a retry runs again.
   */
  async fail(lease: IdempotencyLease, error: { status: number; headers?: Record<string, string>; body(): unknown }, final: boolean): Promise<void> {
    const body = error.body();
    const stored: StoredResponse = { status: error.status, headers: error.headers ?? {}, contentType: 'application/json', bodyJson: body, bodyText: JSON.stringify(body) };
    if (final && isStorableStatus(error.status)) await this.complete(lease, stored, null);
    // A caller that hung up (499) leaves no answer: the next waiter runs the request itself.
    else await this.release(lease, error.status === 499 ? undefined : stored);
  }

  /** Key-less dedup: the completed, unexpired response stored for (tenant, requestHash), counted as a replay. */
  async findCompleted(tenant: string, requestHash: string): Promise<Replay | undefined> {
    // One statement: find the live completed row and count the replay.
    const { rows } = await this.pool.query<Row>(
      `UPDATE request_log SET replay_count = replay_count + 1, last_replayed_at = now()
        WHERE tenant = $1 AND request_hash = $2 AND state = 'completed' AND expires_at > now()
        RETURNING ${SELECT_COLUMNS}`,
      [tenant, requestHash],
    );
    return rows[0] ? toReplay(rows[0]) : undefined;
  }

  /** Key-less dedup: stores a completed response directly (replacing an expired row, keeping a live one). */
  async record(req: IdempotentRequest, stored: StoredResponse, costUsd: number | null, usage?: Usage): Promise<void> {
    await this.pool.query(
      `INSERT INTO request_log (request_hash, tenant, key_hash, fingerprint, method, path, endpoint, state, status_code,
                                content_type, response_headers, response_json, response_text, response_raw, cost_usd, completed_at, expires_at, usage_json)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'completed', $8, $9, $10, $11, $12, $13, $14, now(), now() + make_interval(secs => $15), $16)
       ON CONFLICT (tenant, request_hash) DO UPDATE SET
         key_hash = EXCLUDED.key_hash, fingerprint = EXCLUDED.fingerprint, method = EXCLUDED.method, path = EXCLUDED.path,
         endpoint = EXCLUDED.endpoint, state = 'completed', status_code = EXCLUDED.status_code, content_type = EXCLUDED.content_type,
         response_headers = EXCLUDED.response_headers, response_json = EXCLUDED.response_json, response_text = EXCLUDED.response_text,
         response_raw = EXCLUDED.response_raw, usage_json = EXCLUDED.usage_json, cost_usd = EXCLUDED.cost_usd, created_at = now(), completed_at = now(), lease_until = NULL,
         expires_at = EXCLUDED.expires_at, replay_count = 0, last_replayed_at = NULL
       WHERE request_log.expires_at <= now()`,
      [
        req.requestHash,
        req.tenant,
        req.keyHash,
        req.fingerprint,
        req.method,
        req.path,
        req.endpoint,
        ...storedColumns(stored),
        costUsd,
        req.ttlSeconds,
        usage ? JSON.stringify(usage) : null,
      ],
    );
  }

  /** Stops lease renewals (shutdown); rows of requests still running expire with their lease. */
  close(): void {
    for (const t of this.heartbeats.values()) clearInterval(t);
    this.heartbeats.clear();
  }

  private lease(id: string, request: IdempotentRequest): IdempotencyLease {
    const timer = setInterval(() => {
      this.pool
        .query(`UPDATE request_log SET lease_until = now() + make_interval(secs => $2) WHERE id = $1 AND state = 'in_progress'`, [
          id,
          this.leaseMs / 1000,
        ])
        .catch(() => undefined);
    }, Math.max(50, Math.floor(this.leaseMs / 3)));
    timer.unref();
    this.heartbeats.set(id, timer);
    return { id, request };
  }

  private stopHeartbeat(id: string): void {
    const t = this.heartbeats.get(id);
    if (t) clearInterval(t);
    this.heartbeats.delete(id);
  }

  private async replayOf(row: Row): Promise<Replay> {
    await this.pool.query(`UPDATE request_log SET replay_count = replay_count + 1, last_replayed_at = now() WHERE id = $1`, [row.id]);
    return toReplay(row);
  }
}

function toReplay(row: Row): Replay {
  const contentType = row.content_type ?? 'application/json';
  const stored: StoredResponse = { status: row.status_code ?? 200, headers: row.response_headers ?? {}, contentType };
  const isSse = contentType.startsWith('text/event-stream');
  if (isSse) stored.sseText = row.response_text ?? '';
  if (row.response_json !== null && row.response_json !== undefined) stored.bodyJson = row.response_json;
  // Rows from before 006 kept a non-JSON body in response_text.
  const text = row.response_raw ?? (isSse ? null : row.response_text);
  if (text !== null) stored.bodyText = text;
  else if (!isSse && stored.bodyJson === undefined) stored.bodyText = '';
  return { kind: 'replay', stored, ageSeconds: row.age_seconds ?? 0, costUsd: row.cost_usd, ...(row.usage_json ? { usage: row.usage_json } : {}) };
}
