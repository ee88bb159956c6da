import { promptTextOf } from '../usage/text.js';
import { badRequest, missing, NO_MODEL, type HandlerContext, type Reply } from './reply.js';
import { sampleFromSchema } from './schema.js';
import type { SseEvent } from './sse.js';
import { CREATED, contentFor, isObj, reasoningTokensFor, replyText, snapshotOf, splitDeltas, tokens, type Json } from './util.js';

/** `POST /v1/chat/completions`, JSON or `data:`-only SSE ending in `[DONE]`. */
export function chatCompletions(body: Json, ctx: HandlerContext): Reply {
  if (typeof body.model !== 'string' || body.model === '') return NO_MODEL;
  if (!Array.isArray(body.messages)) return missing('messages');
  if (body.messages.length === 0) return badRequest("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
  const n = typeof body.n === 'number' && body.n >= 1 ? Math.floor(body.n) : 1;

  const model = snapshotOf(body.model);
  const prompt = promptTextOf(body);
  const plain = replyText(body.model, prompt, ctx.hash);
  const first = contentFor(body.response_format, plain, sampleFromSchema);
  // Extra choices must differ from the first but stay deterministic.
  const contents = Array.from({ length: n }, (_, i) => (i === 0 || first !== plain ? first : `${plain} Alternative ${i + 1}.`));

  const promptTokens = tokens(prompt);
  const visible = contents.reduce((sum, c) => sum + tokens(c), 0);
  const reasoning = reasoningTokensFor(body.model, visible);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: visible + reasoning,
    total_tokens: promptTokens + visible + reasoning,
    prompt_tokens_details: { cached_tokens: Math.min(ctx.cachedTokens, promptTokens), audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  const base = { id: `chatcmpl-${ctx.hash.slice(0, 29)}`, created: CREATED, model, service_tier: 'default', system_fingerprint: 'fp_mock0001' };

  if (body.stream !== true) {
    return {
      kind: 'json',
      body: {
        ...base,
        object: 'chat.completion',
        choices: contents.map((content, index) => ({
          index,
          message: { role: 'assistant', content, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        })),
        usage,
      },
    };
  }

  const includeUsage = isObj(body.stream_options) && body.stream_options.include_usage === true;
  // With include_usage every chunk but the last carries `usage: null`; without it there is no key.
  const chunk = (choices: unknown[], usageValue: unknown = null): SseEvent => ({
    data: { ...base, object: 'chat.completion.chunk', choices, ...(includeUsage ? { usage: usageValue } : {}) },
  });
  const choice = (index: number, delta: Json, finish: string | null = null) => ({ index, delta, logprobs: null, finish_reason: finish });

  const events: SseEvent[] = [];
  contents.forEach((content, index) => {
    events.push(chunk([choice(index, { role: 'assistant', content: '', refusal: null })]));
    for (const piece of splitDeltas(content)) events.push(chunk([choice(index, { content: piece })]));
    events.push(chunk([choice(index, {}, 'stop')]));
  });
  if (includeUsage) events.push(chunk([], usage));
  events.push({ data: '[DONE]' });
  return { kind: 'sse', events };
}
