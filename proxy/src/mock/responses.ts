import { promptTextOf } from '../usage/text.js';
import { NO_MODEL, type HandlerContext, type Reply } from './reply.js';
import { sampleFromSchema } from './schema.js';
import type { SseEvent } from './sse.js';
import { CREATED, contentFor, isObj, reasoningTokensFor, replyText, snapshotOf, splitDeltas, tokens, type Json } from './util.js';

/** `POST /v1/responses`, JSON or named-event SSE from response.created to response.completed. */
export function responses(body: Json, ctx: HandlerContext, done = false): Reply {
  if (typeof body.model !== 'string' || body.model === '') return NO_MODEL;
  const model = snapshotOf(body.model);
  const prompt = promptTextOf(body);
  const format = isObj(body.text) ? body.text.format : undefined;
  const text = contentFor(format, replyText(body.model, prompt, ctx.hash), sampleFromSchema);

  const inputTokens = tokens(prompt);
  const visible = tokens(text);
  const reasoning = reasoningTokensFor(body.model, visible);
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: Math.min(ctx.cachedTokens, inputTokens) },
    output_tokens: visible + reasoning,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: inputTokens + visible + reasoning,
  };

  const itemId = `msg_${ctx.hash.slice(0, 48)}`;
  const part = { type: 'output_text', text, annotations: [], logprobs: [] };
  const item = { id: itemId, type: 'message', status: 'completed', role: 'assistant', content: [part] };
  const response = (status: string, output: unknown[], usageValue: unknown) => ({
    id: `resp_${ctx.hash.slice(0, 48)}`,
    object: 'response',
    created_at: CREATED,
    status,
    background: body.background === true,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: format ?? { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: usageValue,
    user: null,
    metadata: body.metadata ?? {},
  });

  // Background mode answers at once with a queued response and no usage; the work (and the bill)
  // comes later, read with GET /v1/responses/{id} (backgroundResponse).
  if (body.background === true && body.stream !== true && !done) return { kind: 'json', body: response('queued', [], null) };
  if (body.stream !== true) return { kind: 'json', body: response('completed', [item], usage) };

  const events: SseEvent[] = [];
  const emit = (type: string, fields: Json) => events.push({ event: type, data: { type, sequence_number: events.length, ...fields } });
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  emit('response.created', { response: response('in_progress', [], null) });
  emit('response.in_progress', { response: response('in_progress', [], null) });
  emit('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
  emit('response.content_part.added', { ...at, part: { ...part, text: '' } });
  for (const delta of splitDeltas(text)) emit('response.output_text.delta', { ...at, delta, logprobs: [] });
  emit('response.output_text.done', { ...at, text, logprobs: [] });
  emit('response.content_part.done', { ...at, part });
  emit('response.output_item.done', { output_index: 0, item });
  emit('response.completed', { response: response('completed', [item], usage) });
  return { kind: 'sse', events };
}

/**
 * `GET /v1/responses/{id}`: the fake's background responses are always done by the time they are
 * read; with `?stream=true` the same response is resumed as its event stream.
 */
export function backgroundResponse(id: string, stream: boolean, ctx: HandlerContext): Reply {
  return responses({ model: 'gpt-4o-mini', input: `background ${id}`, background: true, stream }, { ...ctx, hash: id.replace(/^resp_/, '').padEnd(48, '0') }, true);
}
