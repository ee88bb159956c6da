import { randomUUID } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { z } from 'zod';
import type { SingleFlight } from '../coalesce/singleFlight.js';
import type { AppDeps } from '../deps.js';
import { badRequest, ProxyError, sendError } from '../errors.js';
import {
  dedupRequestHash,
  idempotencyKeyHash,
  keyInProgressError,
  keyMismatchError,
  parseIdempotencyKey,
  requestFingerprint,
} from '../idempotency/keys.js';
import type { IdempotencyStore, IdempotentRequest, Replay } from '../idempotency/store.js';
import type { CacheStatus } from '../log/callLog.js';
import { costUsd } from '../pricing/cost.js';
import { clientAbortedOutcome, recordCall } from '../proxy/callRecord.js';
import { callerGone } from '../proxy/callerGone.js';
import { sendSharedFailure } from '../proxy/sharedFailure.js';
import type { CallContext } from '../proxy/requestContext.js';
import { sendStored, type StoredResponse } from '../sse/stored.js';
import type { Usage } from '../usage/types.js';
import { generatePersonas } from './generate.js';
import { personaInputHash, requestSchema, type Persona, type PersonaRequest } from './schema.js';
import { PersonaCache } from './store.js';
import { apiCallContext, openaiFor, upstreamAnswered, upstreamError } from './upstream.js';

export const PERSONAS_PATH = '/api/personas/generate';
const ENDPOINT = 'personas.generate';
const JSON_TYPE = 'application/json; charset=utf-8';

export interface PersonaServices {
  idempotency: IdempotencyStore;
  flights: SingleFlight;
}

/** The answer's body. `fromCache`: no upstream call was made for this request. */
export interface PersonasBody {
  personas: Persona[];
  fromCache: boolean;
  /** Served from the stored response of an identical earlier request (key-less dedup or Idempotency-Key). */
  fromIdempotentCache: boolean;
}

interface Outcome {
  body: PersonasBody;
  cacheStatus: CacheStatus;
  usage?: Usage;
  /** What generating these personas cost upstream (stored for later cost_saved_usd). */
  generationCostUsd: number | null;
  model: string;
  upstreamRequestId?: string | null;
  /** Seconds since a cached generation was made (the `Age` of a hit). */
  ageSeconds?: number;
}

/**
 * `POST /personas/generate` `{ email, leadData, config: { numPersonas } }` → `{ personas, fromCache, fromIdempotentCache }`.
 *
 * In order: an `Idempotency-Key` is honoured (replay with `Idempotent-Replayed: true`, 422 on a
 * different body, wait then 409 while the first runs); without one, an identical request (same
 * tenant, same canonical body, email included) within PERSONA_DEDUP_WINDOW_SECONDS replays the
 * stored answer with `fromIdempotentCache: true`; then persona_cache (keyed by personaInputHash,
 * email excluded) answers `fromCache: true`; a miss is generated once however many identical
 * requests arrive together, in this process or another (SingleFlight on inflight_request).
 * Every call logs one `personas.generate` row (miss / hit / idempotent_replay / coalesced).
 */
export function personasRouter(deps: AppDeps, services: PersonaServices): express.Router {
  const router = express.Router();
  const schema = requestSchema(deps.config.PERSONA_MAX);
  const cache = new PersonaCache(deps.pool);
  const cfg = deps.config;

  async function compute(ctx: CallContext, input: PersonaRequest): Promise<Outcome> {
    const model = cfg.PERSONA_MODEL;
    const hash = personaInputHash({ leadData: input.leadData, config: input.config, model });
    const hit = await cache.get(ctx.tenant, hash, true);
    if (hit) {
      return {
        body: { personas: hit.personas, fromCache: true, fromIdempotentCache: false },
        cacheStatus: 'hit',
        generationCostUsd: hit.costUsd,
        model: hit.model,
        ageSeconds: hit.ageSeconds,
      };
    }
    const flight = await services.flights.run('personas', `${ctx.tenant}:${hash}`, {
      lookup: async () => {
        const c = await cache.get(ctx.tenant, hash, false);
        return c && { personas: c.personas, model: c.model, costUsd: c.costUsd, usage: undefined, upstreamRequestId: null };
      },
      produce: async () => {
        const client = openaiFor(deps, ctx.credential);
        ctx.upstreamSentAt = performance.now();
        const g = await generatePersonas(client, { model, leadData: input.leadData, config: input.config });
        ctx.upstreamEndedAt = performance.now();
        const cost = g.usage ? (costUsd(deps.prices, g.model, g.usage) ?? costUsd(deps.prices, model, g.usage)) : null;
        await cache.put(ctx.tenant, hash, g.model, g.personas, cost, cfg.PERSONA_CACHE_TTL_SECONDS);
        return { personas: g.personas, model: g.model, costUsd: cost, usage: g.usage, upstreamRequestId: g.upstreamRequestId };
      },
    });
    const v = flight.value;
    const owner = flight.role === 'owner';
    return {
      body: { personas: v.personas, fromCache: !owner, fromIdempotentCache: false },
      cacheStatus: owner ? 'miss' : 'coalesced',
      ...(owner && v.usage ? { usage: v.usage } : {}),
      generationCostUsd: v.costUsd,
      model: v.model,
      upstreamRequestId: owner ? v.upstreamRequestId : null,
    };
  }

  function log(ctx: CallContext, status: number, o: Partial<Outcome> & { cacheStatus: CacheStatus; savedUsd?: number | null; errorType?: string | null }) {
    recordCall(deps, ctx, {
      status,
      usage: o.usage,
      cacheStatus: o.cacheStatus,
      upstreamRequestId: o.upstreamRequestId ?? null,
      savedUsd: o.savedUsd === undefined ? 0 : o.savedUsd,
      errorType: o.errorType ?? null,
      ...(o.model ? { responseModel: o.model } : {}),
    });
  }

  /**
   * The stored answer again: the same text, but for the two flags (a replay is served from the
   * cache). The stored text is parsed rather than the jsonb copy, so every member keeps its place.
   */
  function sendReplay(res: Response, ctx: CallContext, replay: Replay, cacheStatus: CacheStatus, keyed: boolean) {
    const stored: StoredResponse = { ...replay.stored };
    const body = (stored.bodyText !== undefined ? JSON.parse(stored.bodyText) : stored.bodyJson) as PersonasBody | undefined;
    if (stored.status === 200 && body && typeof body === 'object') {
      stored.bodyJson = { ...body, fromCache: true, fromIdempotentCache: true };
      stored.bodyText = JSON.stringify(stored.bodyJson);
    }
    ctx.firstByteAt = performance.now();
    sendStored(res, stored, {
      ...(keyed ? { 'Idempotent-Replayed': 'true' } : {}),
      'X-Tollgate-Cache': 'HIT',
      Age: String(replay.ageSeconds),
      'x-tollgate-request-id': ctx.requestId,
    });
    const served = stored.status === 200;
    // The original generation's tokens, as a cache hit carries them (cost 0, cost_saved_usd its cost).
    log(ctx, stored.status, { cacheStatus, savedUsd: served ? replay.costUsd : 0, ...(served && replay.usage ? { usage: replay.usage } : {}) });
  }

  /** The answer as sent and as stored for replays: serialised once, so a replay is the same text. */
  function storedOutcome(out: Outcome): StoredResponse {
    return { status: 200, headers: {}, contentType: JSON_TYPE, bodyJson: out.body, bodyText: JSON.stringify(out.body) };
  }

  function sendOutcome(res: Response, ctx: CallContext, out: Outcome, stored: StoredResponse) {
    ctx.firstByteAt = performance.now();
    sendStored(res, stored, {
      'X-Tollgate-Cache': out.cacheStatus === 'miss' ? 'MISS' : 'HIT',
      ...(out.ageSeconds !== undefined ? { Age: String(out.ageSeconds) } : {}),
    });
    log(ctx, 200, { ...out, savedUsd: out.cacheStatus === 'miss' ? 0 : out.generationCostUsd });
  }

  router.post('/personas/generate', async (req: Request, res: Response) => {
    const ctx = apiCallContext(req, ENDPOINT, randomUUID());
    ctx.model = cfg.PERSONA_MODEL;
    res.setHeader('x-tollgate-request-id', ctx.requestId);
    const gone = callerGone(res, () => (ctx.clientAborted = true));
    try {
      const input = parseInput(schema, req.body);
      const key = parseIdempotencyKey(req.headersDistinct['idempotency-key']);
      const fingerprint = requestFingerprint('POST', PERSONAS_PATH, req.body);
      const base = { tenant: ctx.tenant, fingerprint, method: 'POST', path: PERSONAS_PATH, endpoint: ENDPOINT };

      if (key !== undefined) {
        const keyHash = idempotencyKeyHash(key);
        const idem: IdempotentRequest = { ...base, requestHash: keyHash, keyHash, ttlSeconds: cfg.IDEMPOTENCY_TTL_SECONDS };
        const r = await services.idempotency.acquire(idem, cfg.IDEMPOTENCY_WAIT_MS, gone);
        if (r.kind === 'abandoned') return recordCall(deps, ctx, clientAbortedOutcome(ctx));
        if (r.kind === 'replay') return sendReplay(res, ctx, r, r.waited ? 'coalesced' : 'idempotent_replay', true);
        if (r.kind === 'mismatch') throw keyMismatchError();
        if (r.kind === 'in_progress') throw keyInProgressError();
        if (r.kind === 'failed') return log(ctx, r.stored.status, sendSharedFailure(res, ctx, r.stored, { 'x-tollgate-request-id': ctx.requestId }));
        let out: Outcome;
        try {
          out = await compute(ctx, input);
        } catch (err) {
          const e = upstreamError(err);
          await services.idempotency.fail(r.lease, e, upstreamAnswered(err));
          throw e;
        }
        const stored = storedOutcome(out);
        await services.idempotency.complete(r.lease, stored, out.generationCostUsd, out.usage);
        return sendOutcome(res, ctx, out, stored);
      }

      const window = cfg.PERSONA_DEDUP_WINDOW_SECONDS;
      const dedup: IdempotentRequest = { ...base, requestHash: dedupRequestHash(fingerprint), keyHash: null, ttlSeconds: window };
      if (window > 0) {
        const replay = await services.idempotency.findCompleted(ctx.tenant, dedup.requestHash);
        if (replay) return sendReplay(res, ctx, replay, 'idempotent_replay', false);
      }
      const out = await compute(ctx, input);
      const stored = storedOutcome(out);
      // Recorded before answering, so a duplicate sent right after this answer finds it.
      if (window > 0) await services.idempotency.record(dedup, stored, out.generationCostUsd, out.usage);
      return sendOutcome(res, ctx, out, stored);
    } catch (err) {
      const e = upstreamError(err);
      // What the caller does not see (a JS error, a malformed upstream body) goes to the log.
      const hidden = err instanceof ProxyError ? err.cause : err;
      if (hidden !== undefined && e.status >= 500) deps.logger.warn({ err: (hidden as Error)?.message ?? String(hidden), requestId: ctx.requestId }, 'persona generation failed');
      sendError(res, e);
      log(ctx, e.status, { cacheStatus: 'bypass', errorType: e.code ?? e.type });
    }
  });

  return router;
}

function parseInput(schema: z.ZodType<PersonaRequest>, body: unknown): PersonaRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The body must be a JSON object: { email, leadData, config: { numPersonas } }.', null, 'invalid_body');
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const param = issue.path.join('.') || null;
  let value: unknown = body;
  for (const k of issue.path) value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
  if (value === undefined) throw badRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
  throw badRequest(issue.message, param, 'invalid_value');
}
