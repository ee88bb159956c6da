import OpenAI from 'openai';
import { ProxyError, upstreamUnreadable } from '../../call/errors.js';
import type { UpstreamCallOptions } from './upstream.js';
import { fromCompletionUsage } from '../../usage/extract.js';
import type { Usage } from '../../usage/types.js';
import { personasJsonSchema, personasOutputSchema, type Persona } from './schema.js';

export interface Generated {
  personas: Persona[];
  /** The model that answered (a dated snapshot when upstream reports one). */
  model: string;
  usage: Usage | undefined;
  upstreamRequestId: string | null;
  upstreamMs: number;
}

const SYSTEM_PROMPT = [
  'You create realistic marketing personas for a sales team.',
  'Given facts about a lead and a configuration, write distinct personas of people who could be that lead.',
  'Each persona: a plausible full name, an age, an occupation, a location, a two-sentence summary,',
  'goals, pain points and the channels they prefer to be contacted on.',
  'Return exactly the requested number of personas as JSON matching the schema.',
].join(' ');

/**
 * One upstream chat completion with structured output (json_schema, strict) asking for exactly
 * `numPersonas` personas; the answer is parsed and validated with zod before anyone stores or sees it.
 * More personas than asked are cut to the number; fewer, or invalid JSON, is a 502.
 */
export async function generatePersonas(
  client: OpenAI,
  input: { model: string; leadData: Record<string, unknown>; config: Record<string, unknown> & { numPersonas: number } },
  options: UpstreamCallOptions,
): Promise<Generated> {
  const n = input.config.numPersonas;
  const started = performance.now();
  const { data, request_id } = await client.chat.completions
    .create({
      model: input.model,
      messages: [
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: JSON.stringify({ leadData: input.leadData, config: input.config }) },
      ],
      response_format: { type: 'json_schema', json_schema: { name: 'personas', strict: true, schema: personasJsonSchema(n) } },
    }, options)
    .withResponse()
    .catch((err: unknown) => {
      // The SDK's own errors (API statuses, timeouts) are classified by toProxyError; anything
      // else thrown here (e.g. a body that is not JSON) is upstream's malformed answer.
      if (err instanceof OpenAI.OpenAIError) throw err;
      throw upstreamUnreadable(err);
    });
  const upstreamMs = performance.now() - started;
  if (!Array.isArray(data?.choices) || data.choices.length === 0) {
    throw new ProxyError({ status: 502, message: 'The upstream API returned a response without choices.', code: 'invalid_upstream_output', retry: true });
  }
  const choice = data.choices[0];
  const content = choice?.message?.content;
  if (!content) {
    const why = choice?.message?.refusal ? `the model refused: ${choice.message.refusal}` : 'the model returned no content';
    throw invalidOutput(why);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    throw invalidOutput('the model did not return JSON');
  }
  const result = personasOutputSchema.safeParse(parsed);
  if (!result.success) {
    throw invalidOutput(`the personas did not match the schema (${result.error.issues[0]?.path.join('.') ?? ''}: ${result.error.issues[0]?.message ?? ''})`);
  }
  const personas = result.data.personas;
  if (personas.length < n) throw invalidOutput(`asked for ${n} personas, got ${personas.length}`);
  return {
    personas: personas.slice(0, n),
    model: data.model || input.model,
    usage: fromCompletionUsage(data.usage),
    upstreamRequestId: request_id ?? null,
    upstreamMs,
  };
}

function invalidOutput(why: string): ProxyError {
  return new ProxyError({ status: 502, message: `Persona generation failed: ${why}.`, code: 'invalid_upstream_output', retry: true });
}
