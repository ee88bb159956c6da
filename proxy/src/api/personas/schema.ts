import { z } from 'zod';
import { hashCanonical } from '../../canonical.js';

/** Bumped whenever the prompt or the persona schema changes, so old cache entries stop matching. */
export const PROMPT_VERSION = 'personas-v1';

/** `POST /api/personas/generate` body. Other `config` members are passed to the prompt (and hashed). */
export function requestSchema(maxPersonas: number) {
  return z.object({
    email: z.email({ error: 'email must be a valid email address' }).max(320),
    leadData: z.record(z.string(), z.unknown(), { error: 'leadData must be a JSON object' }),
    config: z.looseObject(
      {
        numPersonas: z
          .number({ error: 'config.numPersonas must be an integer' })
          .int({ error: 'config.numPersonas must be an integer' })
          .min(1, { error: 'config.numPersonas must be at least 1' })
          .max(maxPersonas, { error: `config.numPersonas must be at most ${maxPersonas}` }),
      },
      { error: 'config must be an object with numPersonas' },
    ),
  });
}
export type PersonaRequest = z.infer<ReturnType<typeof requestSchema>>;

/** One generated persona; the same shape is asked of the model (JSON schema below) and validated with zod. */
export const personaSchema = z.object({
  name: z.string().min(1),
  age: z.number().int().min(0).max(130),
  occupation: z.string(),
  location: z.string(),
  summary: z.string(),
  goals: z.array(z.string()),
  painPoints: z.array(z.string()),
  preferredChannels: z.array(z.string()),
});
export type Persona = z.infer<typeof personaSchema>;

export const personasOutputSchema = z.object({ personas: z.array(personaSchema) });

/** The structured-output JSON schema sent upstream: exactly n personas (minItems = maxItems = n). */
export function personasJsonSchema(n: number): Record<string, unknown> {
  const str = { type: 'string' };
  const strings = { type: 'array', items: str };
  return {
    type: 'object',
    additionalProperties: false,
    required: ['personas'],
    properties: {
      personas: {
        type: 'array',
        minItems: n,
        maxItems: n,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'age', 'occupation', 'location', 'summary', 'goals', 'painPoints', 'preferredChannels'],
          properties: {
            name: str,
            age: { type: 'integer', minimum: 18, maximum: 90 },
            occupation: str,
            location: str,
            summary: str,
            goals: strings,
            painPoints: strings,
            preferredChannels: strings,
          },
        },
      },
    },
  };
}

/**
 * persona_cache.input_hash: SHA-256 of the canonical JSON of everything that determines the
 * personas — leadData, config (numPersonas included), the model and PROMPT_VERSION — independent
 * of key order.
 *
 * The requester's `email` is deliberately NOT part of it: it identifies who asks, not what is
 * generated (it never reaches the prompt), so two sales reps asking for personas of the same lead
 * share one generation. The tenant (hash of the API key) scopes the entry instead, via the table's
 * (tenant, input_hash) unique key. Exact repeats of a whole request, email included, are caught
 * earlier by the key-less duplicate detection in request_log.
 */
export function personaInputHash(input: { leadData: unknown; config: unknown; model: string }): string {
  return hashCanonical({ promptVersion: PROMPT_VERSION, model: input.model, leadData: input.leadData, config: input.config });
}
