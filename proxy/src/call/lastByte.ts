import type { ServerResponse } from 'node:http';

type End = (...args: unknown[]) => ServerResponse;

/**
 * Holds a response's end (its last bytes) until the call's row is in the spool file. A caller that
 * has its whole answer then has a row, even when the process is killed the next moment: kill -9
 * loses what is in memory, not what was written (see log/spool.ts). openCall installs it; recordCall
 * releases it once the spool has the row, in the same turn of the event loop.
 *
 * The end is held, not the bytes before it: a stream's chunks still go out as they come.
 */
export class LastByteHold {
  private held: unknown[] | undefined;
  private released = false;
  private readonly end: End;

  constructor(private readonly res: ServerResponse) {
    const end = (this.end = res.end as unknown as End);
    // Patched on the instance: whoever ends the response (a relay, express's res.send, a gzip stream
    // piped into it, the shutdown) goes through here.
    res.end = ((...args: unknown[]) => {
      if (this.released) return end.apply(res, args);
      // A second end (the shutdown ending a stream its relay is also ending) is a no-op, as it would be.
      this.held ??= args;
      return res;
    }) as ServerResponse['end'];
  }

  /** Whether the response was ended, or asked to be and is held. */
  get ended(): boolean {
    return this.held !== undefined || this.res.writableEnded;
  }

  /** Lets the end go (at once if it was already asked for). */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.held) this.end.apply(this.res, this.held);
  }
}
