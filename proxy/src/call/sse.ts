import type { ServerResponse } from 'node:http';

/**
 * Opens an event-stream answer: its head goes out at once (clients show the first token as soon as
 * it exists), nothing in between may buffer it, and small events are not held back by Nagle.
 * `flush = false` leaves the head to go with the first write, for a caller that has its first
 * events at hand and sees to the head itself when it has not.
 */
export function openSse(res: ServerResponse, status = 200, flush = true): void {
  if (res.headersSent) return;
  res.statusCode = status;
  if (!res.getHeader('content-type')) res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache, no-transform');
  res.setHeader('x-accel-buffering', 'no');
  res.removeHeader('content-length');
  if (flush) res.flushHeaders();
  res.socket?.setNoDelay(true);
}

/** The chat-completions style in-stream error the SDK turns into an APIError. */
export function sseErrorEvent(message: string, type = 'server_error', code: string | null = null): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`;
}
