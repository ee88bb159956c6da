/**
 * `POST /api/personas/generate` (router.ts): persona generation through the upstream chat API with
 * structured output validated by zod, cached per tenant in persona_cache (personaInputHash: leadData,
 * config, model, prompt version — email excluded, see schema.ts), key-less dedup and Idempotency-Key
 * through request_log, and misses coalesced across processes through SingleFlight.
 * Also exports the helpers the chat-stream route shares: openaiFor, upstreamError, apiCallContext.
 */
export { personasRouter, PERSONAS_PATH, type PersonasBody, type PersonaServices } from './router.js';
export { personaInputHash, PROMPT_VERSION, personaSchema, personasJsonSchema, type Persona } from './schema.js';
export { PersonaCache } from './store.js';
export { openaiFor, upstreamError, apiCallContext } from './upstream.js';
