/**
 * `POST /api/personas/generate` (router.ts): persona generation through the upstream chat API with
 * structured output validated by zod, cached per tenant in persona_cache (personaInputHash: leadData,
 * config, model, prompt version — email excluded, see schema.ts), key-less dedup and Idempotency-Key
 * through request_log, and misses coalesced across processes through SingleFlight.
 * callUpstream (upstream.ts) is how both of Tollgate's own routes call upstream.
 */
export { personasRouter, PERSONAS_PATH, type PersonasBody } from './router.js';
export { personaInputHash, PROMPT_VERSION, personaSchema, personasJsonSchema, type Persona } from './schema.js';
export { PersonaCache } from './store.js';
export { callUpstream } from './upstream.js';
