import type { ServerResponse } from 'node:http';
import { openSse, sseErrorEvent } from '../call/sse.js';

export { sseErrorEvent };

export interface StreamHead {
  status: number;
  contentType: string;
}

export interface StreamListener {
  onChunk(chunk: string): void;
  onEnd(): void;
  onError(err: unknown): void;
}

/**
 * Fans one live stream (the owner's upstream SSE) out to any number of same-process subscribers.
 * A subscriber joining late first receives everything already written (the prefix, in one chunk),
 * then the live chunks, then the end or the failure. The whole transcript stays available as
 * `text`, so the owner can also cache it when the stream ends.
 */
export class StreamBroadcaster {
  private readonly chunks: string[] = [];
  private readonly listeners = new Set<StreamListener>();
  private _state: 'open' | 'ended' | 'failed' = 'open';
  private _error: unknown;
  private resolveHead!: (head: StreamHead | undefined) => void;
  /** The owner's upstream head, once it has one; undefined if the owner failed before it. */
  readonly head: Promise<StreamHead | undefined> = new Promise((resolve) => (this.resolveHead = resolve));

  setHead(status: number, contentType: string): void {
    this.resolveHead({ status, contentType });
  }

  get state(): 'open' | 'ended' | 'failed' {
    return this._state;
  }
  get error(): unknown {
    return this._error;
  }
  get text(): string {
    return this.chunks.join('');
  }
  get subscribers(): number {
    return this.listeners.size;
  }

  write(chunk: string): void {
    if (this._state !== 'open' || chunk === '') return;
    this.chunks.push(chunk);
    for (const l of [...this.listeners]) safe(() => l.onChunk(chunk));
  }

  end(): void {
    this.resolveHead(undefined);
    if (this._state !== 'open') return;
    this._state = 'ended';
    for (const l of [...this.listeners]) safe(() => l.onEnd());
    this.listeners.clear();
  }

  fail(err: unknown): void {
    this.resolveHead(undefined);
    if (this._state !== 'open') return;
    this._state = 'failed';
    this._error = err;
    for (const l of [...this.listeners]) safe(() => l.onError(err));
    this.listeners.clear();
  }

  /** Prefix first (synchronously), then live; returns an unsubscribe function. */
  subscribe(listener: StreamListener): () => void {
    const prefix = this.text;
    if (prefix) safe(() => listener.onChunk(prefix));
    if (this._state === 'ended') {
      safe(() => listener.onEnd());
      return () => undefined;
    }
    if (this._state === 'failed') {
      safe(() => listener.onError(this._error));
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Writes the stream to an express response whose headers the caller has set (or sets
   * `text/event-stream` if not). Resolves 'ended', 'failed' (an SSE error event is written and the
   * response closed) or 'closed' (the client went away; it is unsubscribed, the stream goes on).
   */
  pipeTo(res: ServerResponse, opts: { errorEvent?: (err: unknown) => string; transform?: SseTransform } = {}): Promise<'ended' | 'failed' | 'closed'> {
    return new Promise((resolve) => {
      openSse(res);
      const { transform } = opts;
      let settled = false;
      const settle = (how: 'ended' | 'failed' | 'closed') => {
        if (settled) return;
        settled = true;
        res.off('close', onClose);
        resolve(how);
      };
      const onClose = () => {
        if (!res.writableEnded) {
          unsubscribe();
          settle('closed');
        }
      };
      res.on('close', onClose);
      const unsubscribe = this.subscribe({
        onChunk: (c) => {
          const out = transform ? transform.push(c) : c;
          if (out && !res.writableEnded && !res.destroyed) res.write(out);
        },
        onEnd: () => {
          if (!res.writableEnded) res.end(transform?.rest() ?? '');
          settle('ended');
        },
        onError: (err) => {
          if (!res.writableEnded && !res.destroyed) {
            res.end(opts.errorEvent ? opts.errorEvent(err) : sseErrorEvent('upstream stream failed'));
          }
          settle('failed');
        },
      });
    });
  }
}

/** Rewrites a stream on its way to one subscriber (e.g. hides a usage chunk it did not ask for). */
export interface SseTransform {
  push(chunk: string): string;
  rest(): string;
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // one broken subscriber must not stop the others
  }
}
