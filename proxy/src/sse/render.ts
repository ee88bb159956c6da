import { analyseStream, stripChatUsage } from './assemble.js';
import type { StreamKind } from './events.js';
import { chatCompletionToSse, responseToSse } from './synthesize.js';

/**
 * The event stream to send for a stored answer when the caller asked for `stream: true`.
 * A recorded transcript is replayed as recorded when it fits the request; otherwise (no
 * recording, or the caller wants the usage chunk the recording lacks) it is synthesised from the
 * JSON body. For chat, a caller that did not ask for usage gets the recording without its usage chunk.
 */
export function sseForRequest(
  kind: StreamKind,
  stored: { bodyJson?: unknown; sseText?: string },
  opts: { includeUsage: boolean },
): string {
  const json = (stored.bodyJson ?? undefined) as Record<string, unknown> | undefined;
  if (kind === 'responses') {
    if (stored.sseText !== undefined) return stored.sseText;
    if (!json) throw new Error('sseForRequest: nothing stored');
    return responseToSse(json);
  }
  if (stored.sseText !== undefined) {
    const hasUsage = analyseStream('chat', stored.sseText).hasUsageChunk;
    if (opts.includeUsage === hasUsage) return stored.sseText;
    if (!opts.includeUsage) return stripChatUsage(stored.sseText);
  }
  if (!json) throw new Error('sseForRequest: nothing stored');
  return chatCompletionToSse(json, { includeUsage: opts.includeUsage });
}

/** `stream_options.include_usage` of a chat request body. */
export function wantsUsage(body: unknown): boolean {
  const so = (body as { stream_options?: { include_usage?: unknown } } | undefined)?.stream_options;
  return so?.include_usage === true;
}
