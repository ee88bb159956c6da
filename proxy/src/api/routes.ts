import express from 'express';
import { chatStreamRouter } from '../chatStream/router.js';
import { SingleFlight } from '../coalesce/singleFlight.js';
import type { AppDeps } from '../deps.js';
import { IdempotencyStore } from '../idempotency/store.js';
import { personasRouter } from '../personas/router.js';

/** The stores Tollgate's own endpoints share (one of each per app). */
export interface ApiServices {
  idempotency: IdempotencyStore;
  flights: SingleFlight;
}

export function createApiServices(deps: AppDeps): ApiServices {
  return {
    idempotency: new IdempotencyStore(deps.pool, { wakeups: deps.wakeups }),
    flights: new SingleFlight(deps.pool, deps.instanceId, { waitMs: deps.config.COALESCE_WAIT_MS, wakeups: deps.wakeups }),
  };
}

/**
 * Tollgate's own endpoints, mounted at /api by createApp:
 * - `POST /api/personas/generate` `{ email, leadData, config: { numPersonas } }` → `{ personas, fromCache, fromIdempotentCache }`
 * - `POST /api/chat/stream` `{ messages, model? }` → `text/event-stream`
 * Both honour `Idempotency-Key`; both log one call-log row per request.
 */
export function apiRouter(deps: AppDeps, services: ApiServices = createApiServices(deps)): express.Router {
  const router = express.Router();
  router.use(express.json({ limit: deps.config.BODY_LIMIT_BYTES }));
  router.use(personasRouter(deps, services));
  router.use(chatStreamRouter(deps, services));
  return router;
}
