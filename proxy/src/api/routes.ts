import express from 'express';
import { chatStreamRouter } from './chatStream/router.js';
import type { AppDeps } from '../deps.js';
import { personasRouter } from './personas/router.js';

/**
 * Tollgate's own endpoints, mounted at /api by createApp:
 * - `POST /api/personas/generate` `{ email, leadData, config: { numPersonas } }` → `{ personas, fromCache, fromIdempotentCache }`
 * - `POST /api/chat/stream` `{ messages, model? }` → `text/event-stream`
 * Both honour `Idempotency-Key` through the guard /v1 uses (deps.stores.keys), call upstream through
 * the same undici stack (deps.openai), and log one call-log row per request.
 */
export function apiRouter(deps: AppDeps): express.Router {
  const router = express.Router();
  router.use(express.json({ limit: deps.config.BODY_LIMIT_BYTES }));
  router.use(personasRouter(deps));
  router.use(chatStreamRouter(deps));
  return router;
}
