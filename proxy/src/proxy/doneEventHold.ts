/** The end-of-stream event of chat and legacy completion streams, with or without the space. */
const DONE_EVENTS = ['data: [DONE]', 'data:[DONE]'];

/**
 * Passes an SSE stream through as it comes, but holds its `data: [DONE]` event (and anything
 * after it) for the end. Only an event that starts at an event boundary counts, so `data: [DONE]`
 * inside a model's text does not; the start of a possible [DONE] event at the end of a read waits
 * for the next read to tell. Works on bytes (a latin1 view, one char per byte), so a UTF-8
 * character split across reads is never decoded in halves.
 */
export class DoneEventHold {
  /** The bytes sent so far end an event (the next byte starts one). */
  private atBoundary = true;
  /** The last two chars sent, to see a blank line that spans two reads. */
  private lastSent = '';
  private pending = '';
  private holding = false;
  private readonly held: Buffer[] = [];

  /** What may be sent now. */
  push(out: Buffer | string): Buffer {
    const bytes = typeof out === 'string' ? Buffer.from(out, 'utf8') : out;
    if (this.holding) {
      this.held.push(bytes);
      return Buffer.alloc(0);
    }
    const text = this.pending + bytes.toString('latin1');
    this.pending = '';
    for (const start of this.eventStarts(text)) {
      const rest = text.slice(start);
      if (DONE_EVENTS.some((m) => rest.startsWith(m))) {
        this.holding = true;
        this.held.push(Buffer.from(rest, 'latin1'));
        return this.sent(text.slice(0, start));
      }
      if (DONE_EVENTS.some((m) => m.startsWith(rest))) {
        this.pending = rest;
        return this.sent(text.slice(0, start));
      }
    }
    return this.sent(text);
  }

  /** Everything held back, for the end (a possible start that never completed included). */
  rest(): Buffer {
    return Buffer.concat([Buffer.from(this.pending, 'latin1'), ...this.held]);
  }

  private sent(text: string): Buffer {
    if (text.length) {
      const joined = this.lastSent + text;
      this.atBoundary = /(?:\r?\n\r?\n|\r\r)$/.test(joined);
      this.lastSent = joined.slice(-3);
    }
    return Buffer.from(text, 'latin1');
  }

  /** Offsets in `text` where an event starts: its beginning after a boundary, and after every blank line. */
  private *eventStarts(text: string): Generator<number> {
    if (this.atBoundary) yield 0;
    const boundary = /\r?\n\r?\n|\r\r/g;
    const joined = this.lastSent + text;
    const offset = this.lastSent.length;
    for (let m = boundary.exec(joined); m; m = boundary.exec(joined)) {
      const start = m.index + m[0].length - offset;
      if (start > 0 && start <= text.length) yield start;
    }
  }
}
