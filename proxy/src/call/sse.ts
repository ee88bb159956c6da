import type { ServerResponse } from 'node:http';

/**
 * Opens an event-stream answer: its head goes out at once (clients show the first token as soon as
 * it exists), nothing in between may buffer it, and small events are not held back by Nagle.
 */
export function openSse(res: ServerResponse, status = 200): void {
  if (res.headersSent) return;
  res.statusCode = status;
  if (!res.getHeader('content-type')) res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache, no-transform');
  res.setHeader('x-accel-buffering', 'no');
  res.removeHeader('content-length');
  res.flushHeaders();
  res.socket?.setNoDelay(true);
}

/** The chat-completions style in-stream error the SDK turns into an APIError. */
export function sseErrorEvent(message: string, type = 'server_error', code: string | null = null): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`;
}
