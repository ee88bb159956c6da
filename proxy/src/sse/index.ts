/**
 * SSE building blocks: record, analyse, replay and synthesise OpenAI event streams, and fan a
 * live stream out to coalesced waiters.
 *
 * - `parseSse(text) → SseEvent[]`, `formatSse(events)`, `streamKindOf(path) → 'chat'|'responses'|'embeddings'|'other'`.
 * - `analyseStream(kind, transcript) → { complete, errored, json, usage, hasUsageChunk }`: whether a
 *   recorded upstream stream may be cached (clean `[DONE]` with every choice finished, or
 *   `response.completed`; never an error event) and the equivalent non-streamed JSON body, so one
 *   cache entry serves both shapes.
 * - `isCompleteJson(kind, status, body)`: the same test for a non-streamed answer.
 * - `chatCompletionToSse(json, {includeUsage})`, `responseToSse(json)`: a faithful event stream from a stored JSON body.
 * - `sseForRequest(kind, {bodyJson, sseText}, {includeUsage})`: what to send a streaming caller for a
 *   stored answer (the recording when it fits, else synthesised); `wantsUsage(body)`.
 * - `StreamBroadcaster`: `write(chunk)`, `end()`, `fail(err)`, `subscribe(listener)` (prefix first, then
 *   live), `pipeTo(res)`, `text` (the whole transcript). The owner of a coalesced streaming call
 *   writes upstream chunks into it; same-process waiters pipe it to their own responses.
 * - `StoredResponse {status, headers, contentType, bodyJson?, sseText?, bodyText?}`: `bodyText` is the
 *   exact body first sent (set it whenever known: a replay sends it verbatim; `bodyJson` is its parse);
 *   `sendStored(res, stored, extraHeaders)` (sseText, else bodyText verbatim, else JSON.stringify(bodyJson)),
 *   `jsonColumnOf(stored)`, `replayableHeaders(headers)`, `sseErrorEvent(message)`.
 */
export { parseSse, formatSse, formatEvent, eventJson, streamKindOf, type SseEvent, type StreamKind } from './events.js';
export { analyseStream, isCompleteJson, stripChatUsage, type StreamOutcome } from './assemble.js';
export { chatCompletionToSse, responseToSse } from './synthesize.js';
export { sseForRequest, wantsUsage } from './render.js';
export { StreamBroadcaster, sseErrorEvent, type StreamListener } from './broadcaster.js';
export { sendStored, replayableHeaders, jsonColumnOf, REPLAYABLE_HEADERS, type StoredResponse } from './stored.js';
