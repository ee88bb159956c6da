import express, { type Request, type Response } from 'express';
import type { z } from 'zod';
import type { AppDeps } from '../../deps.js';
import { answerThrown } from '../../call/answer.js';
import { callerGone } from '../../call/callerGone.js';
import { openCall, type CallContext } from '../../call/context.js';
import { ProxyError, invalidRequest } from '../../call/errors.js';
import { CACHE_UNAVAILABLE, UNAVAILABLE } from '../../db/health.js';
import { recordCall, type CallOutcome } from '../../call/record.js';
import { dedupRequestHash, requestFingerprint } from '../../idempotency/keys.js';
import type { Served } from '../../idempotency/guard.js';
import type { IdempotentRequest, Replay } from '../../idempotency/store.js';
import type { CacheStatus } from '../../log/callLog.js';
import { costUsd } from '../../pricing/cost.js';
import { sendStored, type StoredResponse } from '../../sse/stored.js';
import type { Usage } from '../../usage/types.js';
import { generatePersonas } from './generate.js';
import { personaInputHash, requestSchema, type Persona, type PersonaRequest } from './schema.js';
import { PersonaCache } from './store.js';
import { callUpstream } from './upstream.js';

export const PERSONAS_PATH = '/api/personas/generate';
const ENDPOINT = 'personas.generate';
const JSON_TYPE = 'application/json; charset=utf-8';

/** The answer's body. `fromCache`: no upstream call was made for this request. */
export interface PersonasBody {
  personas: Persona[];
  fromCache: boolean;
  /** Served from the stored response of an identical earlier request (key-less dedup or Idempotency-Key). */
  fromIdempotentCache: boolean;
}

/** A generation as this request got it: made for it, found in persona_cache, or shared with an identical request in flight. */
interface Generation {
  body: PersonasBody;
  cacheStatus: CacheStatus;
  usage?: Usage;
  /** What generating these personas cost upstream (stored for later cost_saved_usd). */
  costUsd: number | null;
  model: string;
  upstreamRequestId?: string | null;
  /** Seconds since a cached generation was made (the `Age` of a hit). */
  ageSeconds?: number;
  /** Made without persona_cache (the database was away): the row says cache_unavailable. */
  degraded?: boolean;
}

/** A generation as upstream made it. */
interface Fresh {
  personas: Persona[];
  model: string;
  costUsd: number | null;
  usage: Usage | undefined;
  upstreamRequestId: string | null;
}


/**
 * `POST /personas/generate` `{ email, leadData, config: { numPersonas } }` → `{ personas, fromCache, fromIdempotentCache }`.
 *
 * In order: an `Idempotency-Key` is honoured by the guard every POST route shares (replay with
 * `Idempotent-Replayed: true`, 422 on a different body, wait then 409 while the first runs);
 * without one, an identical request (same tenant, same canonical body, email included) within
 * PERSONA_DEDUP_WINDOW_SECONDS replays the stored answer with `fromIdempotentCache: true`; then
 * persona_cache (keyed by personaInputHash, email excluded) answers `fromCache: true`; a miss is
 * generated once however many identical requests arrive together, in this process or another
 * (SingleFlight on inflight_request). The generation has UPSTREAM_TIMEOUT_MS in all, body
 * included, and is cancelled when its caller leaves and nobody else waits on it.
 * Every call logs one `personas.generate` row (miss / hit / idempotent_replay / coalesced).
 */
export function personasRouter(deps: AppDeps): express.Router {
  const router = express.Router();
  const schema = requestSchema(deps.config.PERSONA_MAX);
  const cache = new PersonaCache(deps.pool);
  const cfg = deps.config;

  /** persona_cache, else one generation shared by every identical request in flight. */
  async function generation(ctx: CallContext, input: PersonaRequest, cancel: AbortSignal): Promise<Generation> {
    const model = cfg.PERSONA_MODEL;
    const hash = personaInputHash({ leadData: input.leadData, config: input.config, model });
    const hit = await optional(ctx, () => cache.get(ctx.tenant, hash, true));
    if (hit === UNAVAILABLE) return uncached(await generate(ctx, input, cancel));
    if (hit) return { body: { personas: hit.personas, fromCache: true, fromIdempotentCache: false }, cacheStatus: 'hit', costUsd: hit.costUsd, model: hit.model, ageSeconds: hit.ageSeconds };
    const flight = await deps.stores.flights.runUnlessUnavailable(
      'personas',
      `${ctx.tenant}:${hash}`,
      {
        lookup: async () => {
          const c = await cache.get(ctx.tenant, hash, false);
          return c && { personas: c.personas, model: c.model, costUsd: c.costUsd, usage: undefined, upstreamRequestId: null };
        },
        produce: async (f) => {
          // The caller left: the generation goes on only for those waiting on it.
          const abandon = new AbortController();
          cancel.addEventListener('abort', () => f.waiters === 0 && abandon.abort(), { once: true });
          const g = await generate(ctx, input, abandon.signal);
          // Stored for the next identical request; the database going away now loses only that.
          await optional(ctx, () => cache.put(ctx.tenant, hash, g.model, g.personas, g.costUsd, cfg.PERSONA_CACHE_TTL_SECONDS));
          return g;
        },
      },
      (err) => err instanceof ProxyError,
    );
    if (!flight) {
      // The flight's bookkeeping failed before anything went upstream: the database is away.
      deps.dbHealth.failed();
      return uncached(await generate(ctx, input, cancel));
    }
    const v = flight.value;
    const owner = flight.role === 'owner';
    return {
      body: { personas: v.personas, fromCache: !owner, fromIdempotentCache: false },
      cacheStatus: owner ? 'miss' : 'coalesced',
      ...(owner && v.usage ? { usage: v.usage } : {}),
      costUsd: v.costUsd,
      model: v.model,
      upstreamRequestId: owner ? v.upstreamRequestId : null,
    };
  }

  /** One upstream generation, priced. */
  async function generate(ctx: CallContext, input: PersonaRequest, signal: AbortSignal): Promise<Fresh> {
    const model = cfg.PERSONA_MODEL;
    ctx.upstreamSentAt = performance.now();
    const g = await callUpstream(deps, ctx.credential, { cancel: signal, deadlineMs: cfg.UPSTREAM_TIMEOUT_MS }, (options) =>
      generatePersonas(deps.openai, { model, leadData: input.leadData, config: input.config }, options),
    );
    ctx.upstreamEndedAt = performance.now();
    const cost = g.usage ? (costUsd(deps.prices, g.model, g.usage) ?? costUsd(deps.prices, model, g.usage)) : null;
    return { personas: g.personas, model: g.model, costUsd: cost, usage: g.usage, upstreamRequestId: g.upstreamRequestId };
  }

  /** A generation made without persona_cache and single flight (the database is away); the row says so. */
  function uncached(g: Fresh): Generation {
    return { body: { personas: g.personas, fromCache: false, fromIdempotentCache: false }, cacheStatus: 'bypass', ...(g.usage ? { usage: g.usage } : {}), costUsd: g.costUsd, model: g.model, upstreamRequestId: g.upstreamRequestId, degraded: true };
  }

  /** persona_cache and the dedup store are optimisations: skipped while the database is away. */
  const optional = <T>(ctx: CallContext, fn: () => Promise<T>) => deps.dbHealth.attempt(fn, 'persona cache', ctx.requestId);

  /** The answer as sent and as stored for replays: serialised once, so a replay is the same text. */
  function served(g: Generation): Served {
    const stored: StoredResponse = { status: 200, headers: {}, contentType: JSON_TYPE, bodyJson: g.body, bodyText: JSON.stringify(g.body) };
    const outcome: CallOutcome = {
      status: 200,
      usage: g.usage,
      cacheStatus: g.cacheStatus,
      upstreamRequestId: g.upstreamRequestId ?? null,
      savedUsd: g.cacheStatus === 'miss' || g.cacheStatus === 'bypass' ? 0 : g.costUsd,
      responseModel: g.model,
      ...(g.degraded ? { errorType: CACHE_UNAVAILABLE } : {}),
    };
    return { outcome, stored, costUsd: g.costUsd };
  }

  function send(res: Response, ctx: CallContext, g: Generation, { stored }: Served): void {
    ctx.firstByteAt = performance.now();
    const header = g.cacheStatus === 'miss' ? 'MISS' : g.cacheStatus === 'bypass' ? 'BYPASS' : 'HIT';
    sendStored(res, stored!, { 'x-tollgate-cache': header, ...(g.ageSeconds !== undefined ? { age: String(g.ageSeconds) } : {}) });
  }

  router.post('/personas/generate', async (req: Request, res: Response) => {
    const ctx = openCall(req, res, { endpoint: ENDPOINT });
    ctx.model = cfg.PERSONA_MODEL;
    const gone = callerGone(res, () => (ctx.clientAborted = true));
    let outcome: CallOutcome;
    try {
      const input = parseInput(schema, req.body);
      const guard = await deps.stores.keys.enter(req, res, ctx, { path: PERSONAS_PATH, body: req.body, replayAs: asReplay, replayHeaders: { 'x-tollgate-cache': 'HIT' } });
      if (guard.answered) outcome = guard.answered;
      else if (req.headers['idempotency-key'] !== undefined) {
        outcome = (
          await guard.run(async (settle) => {
            const g = await generation(ctx, input, gone);
            const s = served(g);
            // Stored before answering, so a retry sent the moment this answer arrives replays it.
            await settle(s);
            send(res, ctx, g, s);
            return s;
          })
        ).outcome;
      } else outcome = await withoutKey(req, res, ctx, input, gone);
    } catch (err) {
      outcome = answerThrown(deps, res, ctx, err);
    }
    recordCall(deps, ctx, outcome);
  });

  /** Key-less: an identical request within PERSONA_DEDUP_WINDOW_SECONDS replays; else generate and remember. */
  async function withoutKey(req: Request, res: Response, ctx: CallContext, input: PersonaRequest, gone: AbortSignal): Promise<CallOutcome> {
    const window = cfg.PERSONA_DEDUP_WINDOW_SECONDS;
    const fingerprint = requestFingerprint('POST', PERSONAS_PATH, req.body);
    const dedup: IdempotentRequest = { tenant: ctx.tenant, fingerprint, method: 'POST', path: PERSONAS_PATH, endpoint: ENDPOINT, requestHash: dedupRequestHash(fingerprint), keyHash: null, ttlSeconds: window };
    if (window > 0) {
      const replay = await optional(ctx, () => deps.stores.idempotency.findCompleted(ctx.tenant, dedup.requestHash));
      if (replay && replay !== UNAVAILABLE) return sendDedupReplay(res, ctx, replay);
    }
    const g = await generation(ctx, input, gone);
    const s = served(g);
    // Recorded before answering, so a duplicate sent right after this answer finds it.
    if (window > 0) await optional(ctx, () => deps.stores.idempotency.record(dedup, s.stored!, g.costUsd, g.usage));
    send(res, ctx, g, s);
    return s.outcome;
  }

  function sendDedupReplay(res: Response, ctx: CallContext, replay: Replay): CallOutcome {
    const stored = asReplay(replay.stored);
    ctx.firstByteAt = performance.now();
    sendStored(res, stored, { 'x-tollgate-cache': 'HIT', age: String(replay.ageSeconds) });
    const ok = stored.status === 200;
    // The original generation's tokens, as a cache hit carries them (cost 0, cost_saved_usd its cost).
    return { status: stored.status, usage: ok ? replay.usage : undefined, cacheStatus: 'idempotent_replay', savedUsd: ok ? replay.costUsd : 0 };
  }

  return router;
}

/**
 * A stored answer again: the same text but for the two flags (a replay is served from the cache).
 * The stored text is parsed rather than the jsonb copy, so every member keeps its place.
 */
function asReplay(original: StoredResponse): StoredResponse {
  const stored: StoredResponse = { ...original };
  const body = (stored.bodyText !== undefined ? JSON.parse(stored.bodyText) : stored.bodyJson) as PersonasBody | undefined;
  if (stored.status === 200 && body && typeof body === 'object') {
    stored.bodyJson = { ...body, fromCache: true, fromIdempotentCache: true };
    stored.bodyText = JSON.stringify(stored.bodyJson);
  }
  return stored;
}

function parseInput(schema: z.ZodType<PersonaRequest>, body: unknown): PersonaRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('The body must be a JSON object: { email, leadData, config: { numPersonas } }.', { code: 'invalid_body' });
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const param = issue.path.join('.') || null;
  let value: unknown = body;
  for (const k of issue.path) value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
  if (value === undefined) throw invalidRequest(`Missing required parameter: '${param}'.`, { param, code: 'missing_required_parameter' });
  throw invalidRequest(issue.message, { param, code: 'invalid_value' });
}
