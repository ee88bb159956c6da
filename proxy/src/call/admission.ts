import { ClientAbortedError, overloaded } from './errors.js';

/**
 * MAX_CONCURRENT_REQUESTS: at most `limit` requests are served at once (0: no limit). One over it
 * waits in line up to `waitMs`, then is refused with a 503 and `Retry-After`, never queued without
 * a deadline. `enter` resolves with the function that gives the place back.
 */
const NOTHING = () => undefined;

export class Admission {
  private active = 0;
  private readonly queue: Array<{ admit: () => void }> = [];

  constructor(
    private readonly limit: number,
    private readonly waitMs: number,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Takes a place, waiting for one when all are taken; `signal` (the caller left) gives up the wait. */
  enter(signal?: AbortSignal): Promise<() => void> | (() => void) {
    if (this.limit === 0) return NOTHING;
    if (this.active < this.limit) {
      this.active++;
      return this.ticket();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        admit: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.active++;
          resolve(this.ticket());
        },
      };
      const drop = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
      };
      const onAbort = () => {
        clearTimeout(timer);
        drop();
        reject(new ClientAbortedError());
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        drop();
        reject(overloaded(Math.max(1, Math.ceil(this.waitMs / 1000)), 'MAX_CONCURRENT_REQUESTS'));
      }, this.waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  /** Gives the place back once, however often it is called: the next in line takes it. */
  private ticket(): () => void {
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.active--;
      this.queue.shift()?.admit();
    };
  }
}
