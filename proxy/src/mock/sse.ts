import type { Response } from 'express';
import { errorBody } from './errors.js';

/** One server-sent event; `data` is JSON-encoded unless it is already a string such as `[DONE]`. */
export interface SseEvent {
  event?: string;
  data: unknown;
}

export interface StreamFaults {
  delayMs: number;
  /** Destroy the socket once this many events are out (a truncated stream). */
  abortAfter?: number;
  /** Send an in-band `{"error":…}` event after this many events and end. */
  errorAfter?: number;
}

function format(e: SseEvent): string {
  const data = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
  return `${e.event ? `event: ${e.event}\n` : ''}data: ${data}\n\n`;
}

/** Resolves when the response's connection closes, so waits can end early on disconnect. */
function closeSignal(res: Response): { readonly closed: boolean; wait(ms: number): Promise<void> } {
  let closed = res.destroyed;
  let wake: (() => void) | undefined;
  res.once('close', () => {
    closed = true;
    wake?.();
  });
  return {
    get closed() {
      return closed;
    },
    wait(ms) {
      if (closed || ms <= 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    },
  };
}

/** Waits before the response starts (the `latency` fault); false when the client left meanwhile. */
export async function delayStart(res: Response, ms: number): Promise<boolean> {
  const signal = closeSignal(res);
  await signal.wait(ms);
  return !signal.closed;
}

/**
 * Writes events one write each, spaced by `delayMs`, with headers that stop any buffering on the
 * way. Stops as soon as the client disconnects.
 */
export async function writeSse(res: Response, events: SseEvent[], faults: StreamFaults): Promise<void> {
  const signal = closeSignal(res);
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('X-Accel-Buffering', 'no');
  res.setHeader('Connection', 'keep-alive');
  const started = res.locals.startedAt as number | undefined;
  res.setHeader('openai-processing-ms', String(started === undefined ? 0 : Date.now() - started));
  res.flushHeaders();
  res.socket?.setNoDelay(true);

  for (let i = 0; i < events.length; i++) {
    if (signal.closed) return;
    if (faults.abortAfter !== undefined && i >= faults.abortAfter) {
      // Let the events already written reach the client first: a fetch body stream that errors
      // drops chunks it has queued but not yet handed out.
      await signal.wait(Math.max(faults.delayMs, 25));
      res.socket?.destroy();
      return;
    }
    if (faults.errorAfter !== undefined && i >= faults.errorAfter) {
      res.end(format({ data: errorBody('The server had an error while processing your request. Sorry about that!', 'server_error') }));
      return;
    }
    if (i > 0) await signal.wait(faults.delayMs);
    if (signal.closed) return;
    res.write(format(events[i]!));
  }
  res.end();
}
