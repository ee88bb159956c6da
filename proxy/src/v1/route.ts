import type { IncomingMessage, ServerResponse } from 'node:http';
import { cachePolicy } from '../cache/index.js';
import { answerThrown } from '../call/answer.js';
import { callerGone } from '../call/callerGone.js';
import { openCall } from '../call/context.js';
import { recordCall, type CallOutcome } from '../call/record.js';
import type { AppDeps } from '../deps.js';
import { UNGUARDED, type Guarded, type Settle, type Served } from '../idempotency/guard.js';
import { cachedCall, forwardThroughFlight, lookupCache } from './cached.js';
import { comparableBody, prepareRequest, type PreparedRequest } from './prepare.js';
import { forwardBypassingCache } from './recording.js';

/**
 * Every OpenAI call (`/v1/*`, or the same paths without `/v1`), in the order it happens:
 *   call context → admission → prepare the request → Idempotency-Key guard → cache lookup →
 *   single flight → forward → record the call.
 * A request that asks for neither a key nor the cache makes no database round trip before it is
 * forwarded; its row is written later, in a batch.
 */
export function v1Route(deps: AppDeps) {
  return async function v1(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ctx = openCall(req, res);
    let outcome: CallOutcome;
    let leave: (() => void) | undefined;
    let prepared: PreparedRequest | undefined;
    try {
      leave = await deps.admission.enter(deps.config.MAX_CONCURRENT_REQUESTS ? callerGone(res) : undefined);
      const ready = (prepared = await prepareRequest(req, ctx, deps.config.BODY_LIMIT_BYTES));
      const guard = await keyGuard(deps, req, res, ready);
      outcome = guard.answered ?? (await guard.run((settle) => respond(deps, req, res, ready, settle))).outcome;
    } catch (err) {
      outcome = answerThrown(deps, res, ctx, err);
    } finally {
      leave?.();
      prepared?.release?.();
    }
    recordCall(deps, ctx, outcome);
  };
}

/** The Idempotency-Key guard, for POSTs that send one (the same guard as Tollgate's own routes). */
function keyGuard(deps: AppDeps, req: IncomingMessage, res: ServerResponse, { ctx }: PreparedRequest): Guarded | Promise<Guarded> {
  if (ctx.method !== 'POST' || req.headers['idempotency-key'] === undefined) return UNGUARDED;
  return deps.stores.keys.enter(req, res, ctx, { path: ctx.path.split('?')[0]!, body: comparableBody(ctx) });
}

/** Cache lookup, single flight and forward: the answer, from the cache or from upstream. */
async function respond(deps: AppDeps, req: IncomingMessage, res: ServerResponse, prepared: PreparedRequest, settle: Settle): Promise<Served> {
  const { ctx } = prepared;
  const policy = ctx.method === 'POST' && ctx.json ? cachePolicy(ctx.path, req.headers, deps.config) : undefined;
  if (!policy?.enabled) return forwardBypassingCache(deps, req, res, prepared, settle);
  const call = cachedCall(prepared, policy);
  return (await lookupCache(deps, res, call)) ?? forwardThroughFlight(deps, req, res, call, settle);
}
