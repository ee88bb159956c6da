/**
 * A small JSON reader over the caller's text, for the two things JSON.parse cannot do: locate a
 * top-level member's exact span (so the proxy can change one member and leave every other byte
 * as sent), and keep numbers that a double cannot hold exactly (a 20-digit seed) distinct when
 * requests are compared for the cache key or an idempotency fingerprint.
 */

/** A number literal JSON.parse would round (integers beyond 2^53, over-long fractions), kept as written. */
export interface ExactNumber {
  $number: string;
}

class Reader {
  i = 0;
  constructor(readonly s: string) {}

  ws(): void {
    while (this.i < this.s.length && ' \t\n\r\uFEFF'.includes(this.s[this.i]!)) this.i++;
  }

  fail(): never {
    throw new SyntaxError(`invalid JSON at position ${this.i}`);
  }

  value(): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.fail();
  }

  object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail();
      const key = this.string();
      this.ws();
      if (this.s[this.i++] !== ':') this.fail();
      out[key] = this.value();
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail();
    }
  }

  array(): unknown[] {
    const out: unknown[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail();
    }
  }

  string(): string {
    const start = this.i;
    this.i++;
    while (this.i < this.s.length) {
      const c = this.s[this.i++];
      if (c === '\\') this.i++;
      else if (c === '"') return JSON.parse(this.s.slice(start, this.i)) as string;
    }
    return this.fail();
  }

  number(): number | ExactNumber {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) this.fail();
    this.i += m[0].length;
    const n = Number(m[0]);
    const isInteger = /^-?\d+$/.test(m[0]);
    const digits = m[0].replace(/^-|\.|[eE].*$/g, '').replace(/^0+/, '').length;
    return (isInteger && !Number.isSafeInteger(n)) || (!isInteger && digits > 15) ? { $number: m[0] } : n;
  }
}

/** Like JSON.parse, but numbers a double would change come back as `{ $number: literal }`. */
export function parseExact(text: string): unknown {
  const r = new Reader(text);
  const v = r.value();
  r.ws();
  if (r.i !== text.length) r.fail();
  return v;
}

/** True when JSON.parse would change a number of this text: only then is parseExact worth its cost. */
export function hasInexactNumber(text: string): boolean {
  return /\d[\d.]{15,}/.test(text);
}

/**
 * Start and end offsets of a top-level member's value (`{"a": <value>, ...}`), or undefined when
 * the object has no such member. A repeated member gives its last value: the one JSON.parse (and
 * so upstream) keeps. Assumes `text` is a JSON object that JSON.parse accepted.
 */
export function memberValueSpan(text: string, key: string): { start: number; end: number } | undefined {
  const r = new Reader(text);
  r.ws();
  if (text[r.i] !== '{') return undefined;
  r.i++;
  let found: { start: number; end: number } | undefined;
  for (;;) {
    r.ws();
    if (text[r.i] === '}') return found;
    const name = r.string();
    r.ws();
    r.i++; // ':'
    r.ws();
    const start = r.i;
    r.value();
    const end = r.i;
    if (name === key) found = { start, end };
    r.ws();
    if (text[r.i++] !== ',') return found;
  }
}

/**
 * Whether JSON text nests arrays and objects deeper than `max`. Comparing requests walks the body
 * recursively; a caller's 20,000-deep body must be a 400, not a stack overflow.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
