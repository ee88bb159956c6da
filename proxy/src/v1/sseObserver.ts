import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { fromCompletionUsage, fromResponseUsage } from '../usage/extract.js';
import type { Usage } from '../usage/types.js';

/** A chunk whose only usage is the `null` the include_usage option adds to every chunk but the last. */
const USAGE_NULL = /"usage"\s*:\s*null\s*[,}]/;
/** Most text-only chunk bytes held unparsed before their text is folded in. */
const MAX_UNPARSED_BYTES = 1024 * 1024;

/**
 * Watches a copy of an SSE response (chat completions or Responses API) and remembers what the
 * call log needs: usage, the generated text (to estimate usage when a stream is cut short), the
 * model, and whether the stream finished cleanly or carried an error event.
 */
export class SseObserver {
  usage: Usage | undefined;
  model: string | undefined;
  finished = false;
  errored = false;
  private collected = '';
  /**
   * Chat chunks that only carry generated text, not yet parsed: the text is needed only when the
   * stream ends without usage (to estimate it), which with the usage the proxy asks for is rare.
   * Parsing every chunk was the larger part of what the proxy spends per event.
   */
  private unparsed: string[] = [];
  private unparsedBytes = 0;
  private readonly parser = createParser({ onEvent: (e) => this.onEvent(e) });

  feed(chunk: string): void {
    this.parser.feed(chunk);
  }

  /** The generated text seen so far. */
  get text(): string {
    this.foldUnparsed();
    return this.collected;
  }

  private foldUnparsed(): void {
    if (!this.unparsed.length) return;
    const pending = this.unparsed;
    this.unparsed = [];
    this.unparsedBytes = 0;
    for (const data of pending) {
      try {
        this.collectText(JSON.parse(data) as Record<string, unknown>);
      } catch {
        // Not JSON: carries no text.
      }
    }
  }

  /**
   * Text in the order it came: what waits unparsed goes before it. Only an event that carries text
   * folds the waiting chunks in; the usage chunk at a stream's end leaves them unparsed.
   */
  private append(text: string): void {
    if (!text) return;
    this.foldUnparsed();
    this.collected += text;
  }

  private onEvent(e: EventSourceMessage): void {
    if (e.data === '[DONE]') {
      this.finished = true;
      return;
    }
    if (this.onlyText(e)) {
      this.unparsed.push(e.data);
      // A long stream's text is folded as it goes rather than holding every chunk.
      if ((this.unparsedBytes += e.data.length) > MAX_UNPARSED_BYTES) this.foldUnparsed();
      return;
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(e.data) as Record<string, unknown>;
    } catch {
      return;
    }
    if (json['error'] || e.event === 'error' || json['type'] === 'error' || json['type'] === 'response.failed') {
      this.errored = true;
    }
    const type = typeof json['type'] === 'string' ? (json['type'] as string) : undefined;
    if (type?.startsWith('response.')) {
      this.onResponsesEvent(type, json);
      return;
    }
    // Speech (`stream_format: "sse"`) and transcription streams report usage on their last event.
    if (type === 'speech.audio.done' || type === 'transcript.text.done') {
      const usage = fromResponseUsage(json['usage']);
      if (usage) this.usage = usage;
      this.finished = true;
      return;
    }
    if (type === 'transcript.text.delta' && typeof json['delta'] === 'string') {
      this.append(json['delta']);
      return;
    }
    // Azure's first chunk (prompt filter results) names no model: an empty string is none.
    if (typeof json['model'] === 'string' && json['model']) this.model = json['model'];
    const usage = fromCompletionUsage(json['usage']);
    if (usage) this.usage = usage;
    this.collectText(json);
  }

  /**
   * Whether an event can hold nothing but generated text: a chat or completions chunk after the
   * model is known, with no usage object, no `type` (Responses, speech, transcription, tool calls)
   * and no error. Keys are looked for as `"name"` with its quotes: inside a JSON string a quote
   * is escaped, so generated text cannot fake them.
   */
  private onlyText(e: EventSourceMessage): boolean {
    const d = e.data;
    if (!this.model || e.event === 'error' || d.includes('"type"') || d.includes('"error"')) return false;
    return !d.includes('"usage"') || USAGE_NULL.test(d);
  }

  private collectText(json: Record<string, unknown>): void {
    const choices = Array.isArray(json['choices']) ? (json['choices'] as Array<Record<string, unknown>>) : [];
    for (const choice of choices) {
      const delta = choice['delta'] as Record<string, unknown> | undefined;
      if (delta && typeof delta['content'] === 'string') this.append(delta['content']);
      if (delta && typeof delta['refusal'] === 'string') this.append(delta['refusal']);
      // Tool calls are generated tokens too: their names and arguments count in an estimate.
      const calls = Array.isArray(delta?.['tool_calls']) ? (delta!['tool_calls'] as Array<{ function?: { name?: unknown; arguments?: unknown } }>) : [];
      for (const call of calls) {
        if (typeof call?.function?.name === 'string') this.append(call.function.name);
        if (typeof call?.function?.arguments === 'string') this.append(call.function.arguments);
      }
      const text = choice['text'];
      if (typeof text === 'string') this.append(text);
    }
  }

  private onResponsesEvent(type: string, json: Record<string, unknown>): void {
    if (type === 'response.output_text.delta' && typeof json['delta'] === 'string') this.append(json['delta']);
    const response = json['response'] as Record<string, unknown> | undefined;
    if (response && typeof response['model'] === 'string') this.model = response['model'];
    if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      const usage = fromResponseUsage(response?.['usage']);
      if (usage) this.usage = usage;
      if (type === 'response.completed') this.finished = true;
    }
  }
}

/**
 * Splits raw SSE bytes into whole events (terminator included) so one event can be dropped or
 * edited without re-framing the rest. Used only when the proxy changed the request.
 */
export class SseEventSplitter {
  private buffer = '';

  push(chunk: string): string[] {
    this.buffer += chunk;
    const events: string[] = [];
    for (;;) {
      // A blank line in any of SSE's line endings (CRLF, LF, CR, mixed).
      const m = /(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)/.exec(this.buffer);
      if (!m) break;
      const end = m.index + m[0].length;
      // A CR ending the buffer may be the first half of a CRLF still to come.
      if (end === this.buffer.length && this.buffer.endsWith('\r')) break;
      events.push(this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end);
    }
    return events;
  }

  rest(): string {
    const r = this.buffer;
    this.buffer = '';
    return r;
  }
}

/**
 * For a chat stream where the proxy added `stream_options.include_usage`, returns the event as
 * the caller would have seen it without that option: the usage-only chunk is dropped (null) and
 * the `"usage":null` field the option adds to every other chunk is removed, byte for byte.
 */
export function hideInjectedUsage(event: string): string | null {
  if (!event.includes('"usage"')) return event;
  const dataLine = /^data: ?(.*)$/m.exec(event);
  if (!dataLine || dataLine[1] === '[DONE]') return event;
  const data = dataLine[1]!;
  if (data.includes('"choices":[]') && data.includes('"usage":{')) {
    try {
      const json = JSON.parse(data) as { choices?: unknown[]; usage?: unknown };
      if (Array.isArray(json.choices) && json.choices.length === 0 && json.usage) return null;
    } catch {
      return event;
    }
  }
  // OpenAI puts `usage` before other fields (`obfuscation`), so it is not always last. An unescaped
  // `,"usage":null` cannot occur inside a JSON string, and chunks have no nested `usage`. The
  // common shape (no space, then `,` or `}`) is cut without a regex: every event of a stream
  // the proxy asked usage for carries it.
  const at = event.indexOf(USAGE_NULL_FIELD);
  const next = at < 0 ? 0 : event.charCodeAt(at + USAGE_NULL_FIELD.length);
  if (next === 0x2c || next === 0x7d) return event.slice(0, at) + event.slice(at + USAGE_NULL_FIELD.length);
  return event.replace(/,"usage":null(?=\s*[,}])/, '').replace(/\{"usage":null,/, '{');
}
const USAGE_NULL_FIELD = ',"usage":null';
