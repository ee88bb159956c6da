import { eventJson, formatEvent as formatSseEvent, parseSse, type SseEvent, type StreamKind } from './events.js';

type Json = Record<string, unknown>;

/** What a recorded stream amounts to: whether it may be cached, and the equivalent JSON body. */
export interface StreamOutcome {
  /** Ended cleanly: `[DONE]` (chat, with every choice finished) or `response.completed`; no error event. */
  complete: boolean;
  /** An error event (`data: {"error":…}`, `event: error`, `response.failed`) appeared. */
  errored: boolean;
  /** The non-streamed body equivalent to the stream (chat.completion or response object). */
  json?: Json;
  /** `usage` as the stream reported it (chat: the include_usage chunk; responses: the terminal response). */
  usage?: unknown;
  /** The chat stream carried the include_usage chunk. */
  hasUsageChunk: boolean;
}

/** Analyses a complete SSE transcript (as recorded from upstream) of the given kind. */
export function analyseStream(kind: StreamKind, transcript: string | SseEvent[]): StreamOutcome {
  const events = typeof transcript === 'string' ? parseSse(transcript) : transcript;
  if (kind === 'responses') return analyseResponses(events);
  return analyseChat(events);
}

function isErrorEvent(e: SseEvent, json: Json | undefined): boolean {
  return e.event === 'error' || !!json?.['error'] || json?.['type'] === 'error' || json?.['type'] === 'response.failed';
}

interface ToolCallAcc {
  id?: unknown;
  type?: unknown;
  function: { name: string; arguments: string };
}
interface ChoiceAcc {
  index: number;
  role: string;
  content: string | null;
  refusal: string | null;
  /** `message.annotations` (url citations of search models); the non-streamed API always sends the array. */
  annotations: unknown[];
  toolCalls: Map<number, ToolCallAcc>;
  logprobs: unknown[] | null;
  finish: unknown;
  extra: Json;
}

function analyseChat(events: SseEvent[]): StreamOutcome {
  let done = false;
  let errored = false;
  let head: Json | undefined;
  let usage: unknown;
  let hasUsageChunk = false;
  const choices = new Map<number, ChoiceAcc>();
  for (const e of events) {
    if (e.data === '[DONE]') {
      done = true;
      continue;
    }
    const json = eventJson(e);
    if (isErrorEvent(e, json)) errored = true;
    if (!json) continue;
    head ??= json;
    if (json['usage'] !== undefined && json['usage'] !== null) {
      usage = json['usage'];
      hasUsageChunk = true;
    }
    for (const c of Array.isArray(json['choices']) ? (json['choices'] as Json[]) : []) {
      const index = typeof c['index'] === 'number' ? c['index'] : 0;
      let acc = choices.get(index);
      if (!acc) {
        acc = { index, role: 'assistant', content: null, refusal: null, annotations: [], toolCalls: new Map(), logprobs: null, finish: null, extra: {} };
        choices.set(index, acc);
      }
      const delta = (c['delta'] ?? {}) as Json;
      if (typeof delta['role'] === 'string') acc.role = delta['role'];
      if (typeof delta['content'] === 'string') acc.content = (acc.content ?? '') + delta['content'];
      if (typeof delta['refusal'] === 'string') acc.refusal = (acc.refusal ?? '') + delta['refusal'];
      if (Array.isArray(delta['annotations'])) acc.annotations.push(...(delta['annotations'] as unknown[]));
      for (const tc of Array.isArray(delta['tool_calls']) ? (delta['tool_calls'] as Json[]) : []) {
        const i = typeof tc['index'] === 'number' ? tc['index'] : 0;
        let call = acc.toolCalls.get(i);
        if (!call) {
          call = { function: { name: '', arguments: '' } };
          acc.toolCalls.set(i, call);
        }
        if (tc['id'] !== undefined) call.id = tc['id'];
        if (tc['type'] !== undefined) call.type = tc['type'];
        const fn = (tc['function'] ?? {}) as Json;
        if (typeof fn['name'] === 'string') call.function.name += fn['name'];
        if (typeof fn['arguments'] === 'string') call.function.arguments += fn['arguments'];
      }
      for (const k of ['function_call', 'audio'] as const) if (delta[k] !== undefined) acc.extra[k] = delta[k];
      const lp = c['logprobs'] as Json | null | undefined;
      if (lp && Array.isArray(lp['content'])) acc.logprobs = [...(acc.logprobs ?? []), ...(lp['content'] as unknown[])];
      if (c['finish_reason'] !== null && c['finish_reason'] !== undefined) acc.finish = c['finish_reason'];
    }
  }
  const allFinished = choices.size > 0 && [...choices.values()].every((c) => c.finish !== null);
  const complete = done && !errored && allFinished;
  if (!head) return { complete: false, errored, hasUsageChunk };
  const json: Json = {
    id: head['id'],
    object: 'chat.completion',
    created: head['created'],
    model: head['model'],
    choices: [...choices.values()]
      .sort((a, b) => a.index - b.index)
      .map((c) => {
        // The members, and their order, of the non-streamed API's message.
        const message: Json = { role: c.role, content: c.content, refusal: c.refusal, annotations: c.annotations, ...c.extra };
        if (c.toolCalls.size > 0) {
          message['tool_calls'] = [...c.toolCalls.entries()]
            .sort(([a], [b]) => a - b)
            .map(([, call]) => ({ id: call.id, type: call.type ?? 'function', function: call.function }));
        }
        return {
          index: c.index,
          message,
          logprobs: c.logprobs ? { content: c.logprobs, refusal: null } : null,
          finish_reason: c.finish,
        };
      }),
  };
  if (usage !== undefined) json['usage'] = usage;
  if (head['service_tier'] !== undefined) json['service_tier'] = head['service_tier'];
  if (head['system_fingerprint'] !== undefined) json['system_fingerprint'] = head['system_fingerprint'];
  return { complete, errored, json, usage, hasUsageChunk };
}

function analyseResponses(events: SseEvent[]): StreamOutcome {
  let errored = false;
  let terminal: Json | undefined;
  let terminalType: string | undefined;
  for (const e of events) {
    const json = eventJson(e);
    if (isErrorEvent(e, json)) errored = true;
    const type = json?.['type'] ?? e.event;
    if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      terminalType = type as string;
      terminal = (json?.['response'] ?? undefined) as Json | undefined;
    }
  }
  const complete = !errored && terminalType === 'response.completed' && terminal !== undefined;
  return {
    complete,
    errored,
    json: terminal,
    usage: terminal?.['usage'] ?? undefined,
    hasUsageChunk: false,
  };
}

/**
 * Whether a non-streamed 2xx body is a finished answer worth caching: chat with every choice's
 * finish_reason set, a Responses object with status `completed`, embeddings with data.
 */
export function isCompleteJson(kind: StreamKind, status: number, body: unknown): boolean {
  if (status < 200 || status >= 300 || !body || typeof body !== 'object') return false;
  const json = body as Json;
  if (json['error']) return false;
  switch (kind) {
    case 'chat': {
      const choices = json['choices'];
      return Array.isArray(choices) && choices.length > 0 && choices.every((c: Json) => c['finish_reason'] != null);
    }
    case 'responses':
      return json['status'] === 'completed';
    case 'embeddings':
      return Array.isArray(json['data']);
    default:
      return true;
  }
}

/**
 * Removes the include_usage chunk (`choices: []` with usage) and the `usage: null` members from a
 * recorded chat transcript, for a caller that did not ask for usage when the recording had it.
 */
export function stripChatUsage(transcript: string): string {
  let out = '';
  for (const e of parseSse(transcript)) {
    const json = eventJson(e);
    if (json && Array.isArray(json['choices']) && json['choices'].length === 0 && json['usage']) continue;
    if (json && 'usage' in json && json['usage'] === null) {
      delete json['usage'];
      out += formatSseEvent({ ...e, data: JSON.stringify(json) });
      continue;
    }
    out += formatSseEvent(e);
  }
  return out;
}
