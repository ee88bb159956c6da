import { randomUUID } from 'node:crypto';
import type { Pool } from '../db/pool.js';
import { Wakeups } from '../db/wakeups.js';

/** The owner's handle: publish a live object (e.g. a StreamBroadcaster) to same-process waiters. */
export interface Flight {
  setLive(live: unknown): void;
  /** Same-process callers waiting on this flight: with none, the owner may cancel when its caller leaves. */
  readonly waiters: number;
}

export interface FlightFns<T> {
  /** Makes the one upstream call and stores its result where `lookup` finds it, before returning. */
  produce(flight: Flight): Promise<T>;
  /** Finds a stored result (cache row, persona row) for waiters in other processes. */
  lookup(): Promise<T | undefined>;
  /** Same-process waiters only: called once the owner publishes its live object. */
  onLive?(live: unknown): void;
}

export type FlightResult<T> =
  | { role: 'owner'; value: T }
  /** `live`: the waiter was handed the owner's live object (it received the stream as it happened). */
  | { role: 'coalesced'; value: T; live: boolean };

export class CoalesceTimeoutError extends Error {
  constructor(readonly scope: string, readonly waitedMs: number) {
    super(`gave up waiting ${waitedMs} ms for an identical in-flight request (${scope})`);
  }
}

interface LocalFlight {
  promise: Promise<FlightResult<unknown>>;
  waiters: number;
  live: unknown;
  hasLive: boolean;
  liveListeners: Array<(live: unknown) => void>;
}

/**
 * Single flight: concurrent calls with the same (scope, key) make one upstream call.
 *
 * - In one process, the first caller leads and the others await its promise (and its live
 *   object, if the owner publishes one): no database round trip per waiter.
 * - Across processes, the leader claims a row in `inflight_request` (INSERT … ON CONFLICT DO
 *   NOTHING, or take over a row whose lease ran out). The claimant runs `produce`, which stores
 *   the result, and then deletes the row and notifies (Wakeups: LISTEN/NOTIFY). Leaders in other
 *   processes wait on the row, woken by that notification or at their next poll (20 → 250 ms
 *   backoff, one short query each, never holding a connection or a transaction) and, once it is
 *   gone, call `lookup`; if nothing was stored (the owner failed) they claim the row and produce
 *   themselves. The owner renews its lease every leaseMs / 3, so a crashed owner's row is taken
 *   over within leaseMs.
 * - A failure of `produce` rejects the owner and its same-process waiters alike (they shared the
 *   attempt); waiters in other processes retry as described. After waitMs a waiter throws
 *   CoalesceTimeoutError.
 */
export class SingleFlight {
  private readonly local = new Map<string, LocalFlight>();
  private readonly heartbeats = new Set<NodeJS.Timeout>();
  readonly leaseMs: number;
  readonly waitMs: number;

  private readonly wakeups: Wakeups;

  constructor(
    private readonly pool: Pool,
    private readonly instanceId: string,
    opts: { leaseMs?: number; waitMs?: number; wakeups?: Wakeups } = {},
  ) {
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.waitMs = opts.waitMs ?? 120_000;
    this.wakeups = opts.wakeups ?? new Wakeups(pool);
  }

  /** Also a NOTIFY payload: text without NUL. */
  private static topic(scope: string, key: string): string {
    return `flight ${scope} ${key}`;
  }

  /** Flights this process currently leads. */
  get inFlight(): number {
    return this.local.size;
  }

  async run<T>(scope: string, key: string, fns: FlightFns<T>): Promise<FlightResult<T>> {
    const id = `${scope}\u0000${key}`;
    const existing = this.local.get(id);
    if (existing) {
      if (fns.onLive) {
        if (existing.hasLive) fns.onLive(existing.live);
        else existing.liveListeners.push(fns.onLive);
      }
      existing.waiters++;
      const led = (await existing.promise) as FlightResult<T>;
      return { role: 'coalesced', value: led.value, live: existing.hasLive };
    }
    const flight: LocalFlight = { promise: undefined as never, waiters: 0, live: undefined, hasLive: false, liveListeners: [] };
    const handle: Flight = {
      get waiters() {
        return flight.waiters;
      },
      setLive(live) {
        flight.live = live;
        flight.hasLive = true;
        for (const l of flight.liveListeners.splice(0)) {
          try {
            l(live);
          } catch {
            // a waiter's failure to subscribe must not break the owner
          }
        }
      },
    };
    const forget = () => {
      if (this.local.get(id) === flight) this.local.delete(id);
    };
    flight.promise = this.lead(scope, key, fns, handle, forget).finally(forget);
    this.local.set(id, flight);
    return flight.promise as Promise<FlightResult<T>>;
  }

  /**
   * run(), except that a failure of the flight's own bookkeeping (inflight_request, the database
   * away) before any work of this caller began (no produce, no live stream joined) resolves
   * undefined, so the caller serves without single flight. The work's failures, errors
   * `isWorkError` claims, and a wait that timed out still reject.
   */
  async runUnlessUnavailable<T>(scope: string, key: string, fns: FlightFns<T>, isWorkError: (err: unknown) => boolean): Promise<FlightResult<T> | undefined> {
    let started = false;
    const { onLive } = fns;
    const watched: FlightFns<T> = {
      ...fns,
      produce: (flight) => {
        started = true;
        return fns.produce(flight);
      },
      ...(onLive
        ? {
            onLive: (live: unknown) => {
              started = true;
              onLive(live);
            },
          }
        : {}),
    };
    try {
      return await this.run(scope, key, watched);
    } catch (err) {
      if (started || err instanceof CoalesceTimeoutError || isWorkError(err)) throw err;
      return undefined;
    }
  }

  private async lead<T>(scope: string, key: string, fns: FlightFns<T>, handle: Flight, settled: () => void): Promise<FlightResult<T>> {
    const started = Date.now();
    let delay = 20;
    for (;;) {
      const token = await this.claim(scope, key);
      if (token) {
        const stop = this.heartbeat(scope, key, token);
        try {
          // Someone may have finished between our caller's lookup and the claim.
          const found = await fns.lookup();
          if (found !== undefined) return { role: 'coalesced', value: found, live: false };
          return { role: 'owner', value: await fns.produce(handle) };
        } finally {
          // The answer is out: a request from now on is a new one, not a waiter on this flight.
          settled();
          stop();
          await this.pool
            .query('DELETE FROM inflight_request WHERE scope = $1 AND key = $2 AND owner = $3', [scope, key, token])
            .catch(() => undefined);
          void this.wakeups.notify(SingleFlight.topic(scope, key));
        }
      }
      // Another process owns it: wait for its row to go, then look for its result.
      for (;;) {
        const { rows } = await this.pool.query<{ expired: boolean }>(
          'SELECT lease_until <= now() AS expired FROM inflight_request WHERE scope = $1 AND key = $2',
          [scope, key],
        );
        const row = rows[0];
        if (!row || row.expired) break;
        const waited = Date.now() - started;
        if (waited >= this.waitMs) throw new CoalesceTimeoutError(scope, waited);
        await this.wakeups.wait(SingleFlight.topic(scope, key), Math.min(delay, this.waitMs - waited));
        delay = Math.min(delay * 1.5, 250);
      }
      const found = await fns.lookup();
      if (found !== undefined) return { role: 'coalesced', value: found, live: false };
      // The owner stored nothing (failed or crashed): claim it ourselves on the next turn.
    }
  }

  /** Claims (scope, key), taking over an expired lease; returns the owner token or undefined. */
  private async claim(scope: string, key: string): Promise<string | undefined> {
    const token = `${this.instanceId}:${randomUUID()}`;
    const { rows } = await this.pool.query<{ owner: string }>(
      `INSERT INTO inflight_request (scope, key, owner, lease_until) VALUES ($1, $2, $3, now() + make_interval(secs => $4))
       ON CONFLICT (scope, key) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until, started_at = now()
         WHERE inflight_request.lease_until <= now()
       RETURNING owner`,
      [scope, key, token, this.leaseMs / 1000],
    );
    return rows[0]?.owner === token ? token : undefined;
  }

  private heartbeat(scope: string, key: string, token: string): () => void {
    const timer = setInterval(() => {
      this.pool
        .query(
          'UPDATE inflight_request SET lease_until = now() + make_interval(secs => $4) WHERE scope = $1 AND key = $2 AND owner = $3',
          [scope, key, token, this.leaseMs / 1000],
        )
        .catch(() => undefined);
    }, Math.max(50, Math.floor(this.leaseMs / 3)));
    timer.unref();
    this.heartbeats.add(timer);
    return () => {
      clearInterval(timer);
      this.heartbeats.delete(timer);
    };
  }

  /** Stops lease renewals (shutdown). */
  close(): void {
    for (const t of this.heartbeats) clearInterval(t);
    this.heartbeats.clear();
  }
}
