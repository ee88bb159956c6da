/** The end-of-stream line of chat and legacy completion streams, with or without the space. */
const DONE_LINES = ['data: [DONE]', 'data:[DONE]'];
const LONGEST = Math.max(...DONE_LINES.map((l) => l.length));

/**
 * Passes an SSE stream through as it comes, but holds its `data: [DONE]` line (and everything
 * after it) for the end, so a client that stops reading at [DONE] cannot have it before the
 * proxy's bookkeeping is done. The stream is read line by line as the SSE spec frames it (CRLF, LF
 * or CR endings, in any mix, split anywhere across reads): only a line that is exactly
 * `data: [DONE]` and the first data line of its event counts, not `data: [DONE]` inside a model's
 * text, and not a line after other data lines of the same event. A line that may still become one
 * waits for the next read. Works on bytes (a latin1 view, one char per byte), so a UTF-8 character
 * split across reads is never decoded in halves.
 */
export class DoneEventHold {
  /** Up to LONGEST chars of the current line, for telling what it is. */
  private head = '';
  /** The current line could still be the [DONE] line: its chars so far are held in `lineHeld`. */
  private candidate = false;
  private lineHeld = '';
  private atLineStart = true;
  private lastWasCR = false;
  private eventHasData = false;
  private holding = false;
  private held = '';

  /** What may be sent now. */
  push(out: Buffer | string): Buffer {
    const text = (typeof out === 'string' ? Buffer.from(out, 'utf8') : out).toString('latin1');
    let send = '';
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (this.holding) {
        this.held += text.slice(i);
        break;
      }
      if (c === '\n' && this.lastWasCR) {
        // The second half of a CRLF: the line already ended at the CR.
        this.lastWasCR = false;
        send += c;
        continue;
      }
      if (c === '\n' || c === '\r') {
        this.lastWasCR = c === '\r';
        if (this.endLine()) {
          this.held = this.lineHeld + c;
          this.lineHeld = '';
          continue;
        }
        send += this.lineHeld + c;
        this.lineHeld = '';
        continue;
      }
      this.lastWasCR = false;
      if (this.atLineStart) {
        this.atLineStart = false;
        this.candidate = !this.eventHasData;
      }
      if (this.head.length <= LONGEST) this.head += c;
      if (this.candidate && DONE_LINES.some((l) => l.startsWith(this.head))) {
        this.lineHeld += c;
        continue;
      }
      if (this.candidate) {
        this.candidate = false;
        send += this.lineHeld;
        this.lineHeld = '';
      }
      send += c;
    }
    return Buffer.from(send, 'latin1');
  }

  /** Everything held back, for the end (a line that never completed included). */
  rest(): Buffer {
    return Buffer.from(this.lineHeld + this.held, 'latin1');
  }

  /** A complete `data: [DONE]` line is held: the upstream said the stream is over. */
  get holdsDone(): boolean {
    return this.holding;
  }

  /** Ends the current line; true when it is the [DONE] line (from here on, everything is held). */
  private endLine(): boolean {
    const line = this.head;
    const blank = this.atLineStart;
    this.head = '';
    this.atLineStart = true;
    if (blank) {
      this.eventHasData = false;
      return false;
    }
    const isDone = this.candidate && DONE_LINES.includes(line);
    this.candidate = false;
    if (line.startsWith('data:') || line === 'data') this.eventHasData = true;
    if (isDone) this.holding = true;
    return isDone;
  }
}
