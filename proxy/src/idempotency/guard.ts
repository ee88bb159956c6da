import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from '../deps.js';
import { IDEMPOTENCY_UNAVAILABLE } from '../db/health.js';
import { ProxyError, toProxyError, upstreamAnswered } from '../call/errors.js';
import { callerGone } from '../call/callerGone.js';
import type { CallContext } from '../call/context.js';
import { clientAbortedOutcome, upstreamCost, type CallOutcome } from '../call/record.js';
import { sendSharedFailure } from '../call/sharedFailure.js';
import { sendStored, type StoredResponse } from '../sse/stored.js';
import { SseObserver } from '../v1/sseObserver.js';
import { usageFromJson } from '../usage/extract.js';
import type { Usage } from '../usage/types.js';
import { idempotencyKeyHash, isStorableStatus, keyInProgressError, keyMismatchError, parseIdempotencyKey, requestFingerprint } from './keys.js';
import type { IdempotencyLease, IdempotencyStore } from './store.js';

/** What a route sent its caller, with the form the store keeps for replaying it. */
export interface Served {
  outcome: CallOutcome;
  /** Undefined when what was sent may not be replayed (a cut stream, nothing sent). */
  stored?: StoredResponse;
  /** What the answer cost upstream, when the route knows better than its usage (a persona generation). */
  costUsd?: number | null;
}

/** Stores the answer under the key, or frees the key; at most once. Routes call it before their caller's last byte. */
export type Settle = (served: Served) => Promise<void>;

export type Guarded =
  /** The key already decided this call: a replay, a shared failure, or a caller that left while waiting. */
  | { answered: CallOutcome }
  /** This caller runs the request; `run` settles the key with its result, or frees it when it throws. */
  | { answered?: undefined; run<T extends Served>(work: (settle: Settle) => Promise<T>): Promise<T> };

export interface GuardRequest {
  /** The path that, with method and body, makes up the fingerprint (no /v1, no query). */
  path: string;
  /** The body as compared: the same key with another body is a 422. */
  body: unknown;
  /** Reshapes a stored answer for its replay (personas flag theirs as served from the cache). */
  replayAs?: (stored: StoredResponse) => StoredResponse;
  /** Headers a replay adds (personas: x-tollgate-cache: HIT). */
  replayHeaders?: Record<string, string>;
}

/** The database is away and IDEMPOTENCY_WHEN_DB_DOWN=serve: run as if no key was sent, and say so in the row. */
const SERVED_WITHOUT_KEY: Guarded = {
  run: async (work) => {
    const served = await work(noSettle);
    served.outcome.errorType ??= IDEMPOTENCY_UNAVAILABLE;
    return served;
  },
};

/** 503 + Retry-After: the key cannot be honoured safely while its store is unreachable. */
export function idempotencyUnavailable(): ProxyError {
  return new ProxyError({
    status: 503,
    message: 'Idempotency-Key cannot be honoured right now (its store is unavailable); retry shortly, or send the request without the key.',
    type: 'idempotency_error',
    code: 'idempotency_unavailable',
    param: 'Idempotency-Key',
    retry: true,
    headers: { 'retry-after': '5' },
  });
}

/** Settling without a key: nothing to store. */
export const noSettle: Settle = async () => undefined;

/** A request that sends no Idempotency-Key runs as it is. */
export const UNGUARDED: Guarded = { run: (work) => work(noSettle) };

/**
 * The Idempotency-Key guard of every POST route (`/v1/*`, `/api/personas/generate`, `/api/chat/stream`):
 * - a key seen with the same request replays its stored answer (`Idempotent-Replayed: true`, the
 *   original call's tokens on the row, cost 0, cost_saved its cost);
 * - the same key with another request is a 422; while the first runs, a second waits up to
 *   IDEMPOTENCY_WAIT_MS and then gets a 409 (the SDK retries 409);
 * - callers waiting on an attempt that failed upstream (429, 5xx) get that same answer;
 * - the attempt's answer is stored when it is final (2xx, 4xx but 408/429), else the key is freed
 *   so a retry runs again (5xx, 429, network failure, a cut stream, a caller that left).
 */
export class IdempotencyGuard {
  constructor(
    private readonly deps: Pick<AppDeps, 'config' | 'logger' | 'prices' | 'dbHealth'>,
    private readonly store: IdempotencyStore,
  ) {}

  async enter(req: IncomingMessage, res: ServerResponse, ctx: CallContext, r: GuardRequest): Promise<Guarded> {
    const key = parseIdempotencyKey(req.headersDistinct['idempotency-key']);
    if (key === undefined) return UNGUARDED;
    const keyHash = idempotencyKeyHash(key);
    const request = {
      tenant: ctx.tenant,
      requestHash: keyHash,
      keyHash,
      fingerprint: requestFingerprint(ctx.method, r.path, r.body),
      method: ctx.method,
      path: r.path,
      endpoint: ctx.endpoint,
      ttlSeconds: this.deps.config.IDEMPOTENCY_TTL_SECONDS,
    };
    const acquired = await this.store
      .acquire(request, this.deps.config.IDEMPOTENCY_WAIT_MS, callerGone(res))
      .catch((err: unknown) => this.unavailable(ctx, err));
    if (acquired === undefined) return SERVED_WITHOUT_KEY;
    switch (acquired.kind) {
      case 'abandoned':
        // The caller left while it waited: nobody to answer, nothing to run upstream.
        return { answered: clientAbortedOutcome(ctx) };
      case 'mismatch':
        throw keyMismatchError();
      case 'in_progress':
        throw keyInProgressError();
      case 'failed':
        return { answered: sendSharedFailure(res, ctx, acquired.stored) };
      case 'replay': {
        const stored = r.replayAs ? r.replayAs(acquired.stored) : acquired.stored;
        ctx.firstByteAt = performance.now();
        sendStored(res, stored, { ...r.replayHeaders, 'idempotent-replayed': 'true', age: String(acquired.ageSeconds) });
        const ok = stored.status < 400;
        return {
          answered: {
            status: stored.status,
            usage: ok ? (acquired.usage ?? usageOfStored(ctx, acquired.stored)) : undefined,
            cacheStatus: acquired.waited ? 'coalesced' : 'idempotent_replay',
            savedUsd: acquired.costUsd,
            errorType: ok ? null : `upstream_${stored.status}`,
          },
        };
      }
    }
    return { run: (work) => this.run(res, ctx, acquired.lease, work) };
  }

  /**
   * The key's store could not be reached (the database is away): IDEMPOTENCY_WHEN_DB_DOWN decides.
   * `reject`: a 503 with Retry-After, since running the request could run it twice; `serve`: run it
   * without the guarantee, the row saying idempotency_unavailable.
   */
  private unavailable(ctx: CallContext, err: unknown): undefined {
    if (err instanceof ProxyError) throw err;
    this.deps.dbHealth.failed();
    this.deps.logger.debug({ err: (err as Error)?.message, requestId: ctx.requestId }, 'idempotency store unavailable');
    if (this.deps.config.IDEMPOTENCY_WHEN_DB_DOWN === 'serve') return undefined;
    throw idempotencyUnavailable();
  }

  private async run<T extends Served>(res: ServerResponse, ctx: CallContext, lease: IdempotencyLease, work: (settle: Settle) => Promise<T>): Promise<T> {
    // From the moment the caller has its answer, a retry is a retry, not a caller waiting on this attempt.
    res.once('finish', () => this.store.answered(lease));
    let settled = false;
    const settle: Settle = async (served) => {
      if (settled) return;
      settled = true;
      await this.settle(ctx, lease, served);
    };
    let result: T;
    try {
      result = await work(settle);
    } catch (err) {
      if (!settled) {
        settled = true;
        await this.fail(lease, err).catch(() => undefined);
      }
      throw err;
    }
    await settle(result);
    return result;
  }

  private async settle(ctx: CallContext, lease: IdempotencyLease, { stored, outcome, costUsd }: Served): Promise<void> {
    // A cut stream or a caller that left is no answer: nobody may be given it again.
    const whole = stored && !ctx.clientAborted && outcome.errorType !== 'upstream_interrupted' ? stored : undefined;
    if (whole && isStorableStatus(whole.status)) {
      const upstream = outcome.cacheStatus === 'miss' || outcome.cacheStatus === 'bypass';
      const cost = costUsd !== undefined ? costUsd : upstream ? upstreamCost(this.deps, ctx, outcome) : (outcome.savedUsd ?? null);
      // The usage goes with it: a replayed stream may have had its usage chunk hidden from the caller.
      await this.store.complete(lease, whole, cost, outcome.usage).catch((err: Error) => {
        this.deps.logger.warn({ err: err.message, requestId: ctx.requestId }, 'idempotency store failed');
      });
    } else {
      // An upstream failure (429, 5xx) goes to those waiting on this attempt; nothing else does.
      await this.store.release(lease, whole).catch(() => undefined);
    }
  }

  /** The attempt threw: upstream's own final answer (a 400) is kept like a success; anything else frees the key. */
  private async fail(lease: IdempotencyLease, err: unknown): Promise<void> {
    const e = toProxyError(err);
    await this.store.fail(lease, e, upstreamAnswered(err));
  }
}

/** The usage a stored answer reported, so replay rows carry the tokens they stand for. */
function usageOfStored(ctx: CallContext, stored: StoredResponse): Usage | undefined {
  if (stored.sseText !== undefined) {
    const observer = new SseObserver();
    observer.feed(stored.sseText);
    return observer.usage;
  }
  if (stored.bodyJson !== undefined) {
    const u = usageFromJson(ctx.endpoint, stored.bodyJson, ctx.json);
    return u.source === 'none' ? undefined : u;
  }
  return undefined;
}
