import { formatEvent, type SseEvent } from './events.js';

type Json = Record<string, unknown>;

const asArray = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

/**
 * A chat-completions event stream equivalent to a stored `chat.completion` JSON body: per choice a
 * role chunk, one content (or refusal / tool-call) chunk and a finish chunk, then, when
 * `includeUsage`, the `choices: []` usage chunk, then `data: [DONE]`. What the SDK's
 * ChatCompletionStream assembles from it equals the stored body.
 */
export function chatCompletionToSse(completion: Json, opts: { includeUsage: boolean }): string {
  const base: Json = {
    id: completion['id'],
    object: 'chat.completion.chunk',
    created: completion['created'],
    model: completion['model'],
  };
  if (completion['service_tier'] !== undefined) base['service_tier'] = completion['service_tier'];
  if (completion['system_fingerprint'] !== undefined) base['system_fingerprint'] = completion['system_fingerprint'];
  const chunk = (choices: Json[], extra?: Json): SseEvent => ({
    data: JSON.stringify({ ...base, choices, ...(opts.includeUsage ? { usage: null } : {}), ...extra }),
  });
  const events: SseEvent[] = [];
  for (const choice of asArray(completion['choices'])) {
    const index = choice['index'] ?? 0;
    const message = (choice['message'] ?? {}) as Json;
    const one = (delta: Json, finish: unknown = null, logprobs: unknown = null) =>
      chunk([{ index, delta, logprobs, finish_reason: finish }]);
    events.push(one({ role: message['role'] ?? 'assistant', content: '', refusal: null }));
    if (typeof message['content'] === 'string' && message['content'] !== '') {
      events.push(one({ content: message['content'] }, null, choice['logprobs'] ?? null));
    }
    if (typeof message['refusal'] === 'string' && message['refusal'] !== '') {
      events.push(one({ refusal: message['refusal'] }));
    }
    const annotations = message['annotations'];
    if (Array.isArray(annotations) && annotations.length > 0) events.push(one({ annotations }));
    const toolCalls = asArray(message['tool_calls']);
    toolCalls.forEach((call, i) => {
      events.push(one({ tool_calls: [{ index: i, ...call }] }));
    });
    if (message['function_call'] !== undefined) events.push(one({ function_call: message['function_call'] }));
    if (message['audio'] !== undefined) events.push(one({ audio: message['audio'] }));
    events.push(one({}, choice['finish_reason'] ?? 'stop'));
  }
  if (opts.includeUsage && completion['usage'] !== undefined) {
    events.push({ data: JSON.stringify({ ...base, choices: [], usage: completion['usage'] }) });
  }
  events.push({ data: '[DONE]' });
  return events.map(formatEvent).join('');
}

/**
 * A Responses API event stream equivalent to a stored `response` object: created, in_progress,
 * the added/delta/done events of each output item, then `response.completed` carrying the full
 * stored object (usage included). sequence_number counts from 0 as the API's does.
 */
export function responseToSse(response: Json): string {
  let seq = 0;
  const events: SseEvent[] = [];
  const emit = (type: string, payload: Json) => {
    events.push({ event: type, data: JSON.stringify({ type, ...payload, sequence_number: seq++ }) });
  };
  const pending = { ...response, status: 'in_progress', output: [], usage: null, completed_at: null };
  emit('response.created', { response: pending });
  emit('response.in_progress', { response: pending });
  asArray(response['output']).forEach((item, outputIndex) => {
    const itemId = item['id'];
    if (item['type'] === 'message') {
      emit('response.output_item.added', {
        output_index: outputIndex,
        item: { ...item, status: 'in_progress', content: [] },
      });
      asArray(item['content']).forEach((part, contentIndex) => {
        const at = { item_id: itemId, output_index: outputIndex, content_index: contentIndex };
        if (part['type'] === 'output_text') {
          const text = typeof part['text'] === 'string' ? part['text'] : '';
          emit('response.content_part.added', { ...at, part: { ...part, text: '', annotations: [] } });
          if (text !== '') emit('response.output_text.delta', { ...at, delta: text, logprobs: part['logprobs'] ?? [] });
          emit('response.output_text.done', { ...at, text, logprobs: part['logprobs'] ?? [] });
        } else if (part['type'] === 'refusal') {
          const refusal = typeof part['refusal'] === 'string' ? part['refusal'] : '';
          emit('response.content_part.added', { ...at, part: { ...part, refusal: '' } });
          if (refusal !== '') emit('response.refusal.delta', { ...at, delta: refusal });
          emit('response.refusal.done', { ...at, refusal });
        } else {
          emit('response.content_part.added', { ...at, part });
        }
        emit('response.content_part.done', { ...at, part });
      });
    } else if (item['type'] === 'function_call') {
      const args = typeof item['arguments'] === 'string' ? item['arguments'] : '';
      emit('response.output_item.added', {
        output_index: outputIndex,
        item: { ...item, status: 'in_progress', arguments: '' },
      });
      const at = { item_id: itemId, output_index: outputIndex };
      if (args !== '') emit('response.function_call_arguments.delta', { ...at, delta: args });
      emit('response.function_call_arguments.done', { ...at, arguments: args });
    } else {
      emit('response.output_item.added', { output_index: outputIndex, item });
    }
    emit('response.output_item.done', { output_index: outputIndex, item });
  });
  const terminal =
    response['status'] === 'incomplete' ? 'response.incomplete' : response['status'] === 'failed' ? 'response.failed' : 'response.completed';
  emit(terminal, { response });
  return events.map(formatEvent).join('');
}
