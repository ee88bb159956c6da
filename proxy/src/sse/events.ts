import { createParser } from 'eventsource-parser';

/** One server-sent event: its `event:` name (if any) and its `data:` payload (lines joined by \n). */
export interface SseEvent {
  event?: string;
  data: string;
}

/** Parses a whole SSE transcript (any line endings, comments ignored) into its events. */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createParser({
    onEvent: (e) => events.push(e.event !== undefined ? { event: e.event, data: e.data } : { data: e.data }),
  });
  parser.feed(text);
  // A transcript whose last event lacks the blank line still counts that event.
  parser.reset({ consume: true });
  return events;
}

/** Serialises events back to wire form (`event:` line when named, one `data:` line per payload line). */
export function formatSse(events: Iterable<SseEvent>): string {
  let out = '';
  for (const e of events) out += formatEvent(e);
  return out;
}

export function formatEvent(e: SseEvent): string {
  const head = e.event !== undefined ? `event: ${e.event}\n` : '';
  return `${head}${e.data
    .split('\n')
    .map((line) => `data: ${line}`)
    .join('\n')}\n\n`;
}

/** The JSON payload of an event, or undefined for `[DONE]` and anything that is not a JSON object. */
export function eventJson(e: SseEvent): Record<string, unknown> | undefined {
  if (e.data === '[DONE]') return undefined;
  try {
    const v = JSON.parse(e.data) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Which OpenAI stream dialect a path speaks; embeddings never stream. */
export type StreamKind = 'chat' | 'responses' | 'embeddings' | 'other';

export function streamKindOf(path: string): StreamKind {
  const p = path.split('?')[0]!.replace(/^\/v1(?=\/)/, '').replace(/\/+$/, '');
  if (p === '/chat/completions') return 'chat';
  if (p === '/responses') return 'responses';
  if (p === '/embeddings') return 'embeddings';
  return 'other';
}
