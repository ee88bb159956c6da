import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../logger.js';
import type { Pool } from './pool.js';

const CHANNEL = 'tollgate_wake';
const RECONNECT_MS = 1000;
/** Postgres refuses a NOTIFY payload of 8000 bytes or more. */
const MAX_PAYLOAD = 7900;

/**
 * Wake-ups across replicas over Postgres LISTEN/NOTIFY: a caller waiting on another replica's
 * work (an Idempotency-Key, a coalesced call) wakes when that replica finishes, not at its next
 * poll. Waiters still poll: a notification lost to a reconnect, or to PGlite (one session, which
 * hands a notification to its sender), costs only the poll interval. In this process `notify`
 * wakes waiters directly.
 */
export class Wakeups {
  private readonly local = new EventEmitter();
  private listener: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  /** Tells this process's own notifications apart when Postgres echoes them back. */
  private readonly id = randomUUID();

  constructor(
    private readonly pool: Pool,
    private readonly logger?: Logger,
  ) {
    this.local.setMaxListeners(0);
  }

  /** Starts listening for other replicas' notifications (a dedicated connection, reconnected). */
  listen(): void {
    if (this.closed || this.listener) return;
    const client = new pg.Client(this.pool.options);
    this.listener = client;
    const lost = (err?: Error) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.logger?.debug({ err: err?.message }, 'wake-up listener lost; polling until it is back');
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.listen();
      }, RECONNECT_MS);
      this.retry.unref();
    };
    client.on('notification', (n) => {
      if (n.channel !== CHANNEL || !n.payload) return;
      // `<sender id> <topic>` then, after a newline, the optional data.
      const newline = n.payload.indexOf('\n');
      const head = newline < 0 ? n.payload : n.payload.slice(0, newline);
      const space = head.indexOf(' ');
      if (space < 0 || head.slice(0, space) === this.id) return;
      const topic = head.slice(space + 1);
      void this.verified(topic, newline < 0 ? undefined : n.payload.slice(newline + 1)).then((data) => this.local.emit(topic, data));
    });
    client.on('error', lost);
    client.on('end', () => lost());
    client
      .connect()
      .then(() => client.query(`LISTEN ${CHANNEL}`))
      .catch(lost);
  }

  /**
   * Resolves after `ms`, or as soon as `topic` is notified, here or by another replica: with the
   * notification's data, when it carried some.
   */
  wait(topic: string, ms: number, signal?: AbortSignal): Promise<string | undefined> {
    return new Promise((resolve) => {
      const done = (data?: unknown) => {
        clearTimeout(timer);
        this.local.off(topic, done);
        signal?.removeEventListener('abort', onAbort);
        resolve(typeof data === 'string' ? data : undefined);
      };
      const onAbort = () => done();
      const timer = setTimeout(done, ms);
      this.local.on(topic, done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls `fn` with every notification of `topic` (and its data) until the returned function is called. */
  subscribe(topic: string, fn: (data: string | undefined) => void): () => void {
    const listener = (data?: unknown) => fn(typeof data === 'string' ? data : undefined);
    this.local.on(topic, listener);
    return () => this.local.off(topic, listener);
  }

  /**
   * Wakes the waiters of `topic`: in this process at once, in the other replicas through Postgres.
   * `data` (a failed attempt's answer, say) is for the other replicas, and reaches them only if it
   * fits a NOTIFY; this process's waiters share such answers in memory, and one that starts after
   * the answer was given must not be handed it.
   */
  async notify(topic: string, data?: string): Promise<void> {
    this.local.emit(topic);
    let payload = `${this.id} ${topic}`;
    if (data !== undefined) {
      const mac = await this.mac(topic, data).catch(() => undefined);
      const signed = `${payload}\n${mac}\n${data}`;
      if (mac && Buffer.byteLength(signed) <= MAX_PAYLOAD) payload = signed;
    }
    await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]).catch(() => undefined);
  }

  /**
   * A notification's data, if its HMAC is right. Any database user may NOTIFY on the channel
   * (Grafana's read-only role too): unsigned or forged data only wakes, it never answers anyone.
   */
  private async verified(topic: string, signed: string | undefined): Promise<string | undefined> {
    if (signed === undefined) return undefined;
    const newline = signed.indexOf('\n');
    if (newline < 0) return undefined;
    const data = signed.slice(newline + 1);
    const expected = await this.mac(topic, data).catch(() => undefined);
    const given = Buffer.from(signed.slice(0, newline));
    return expected && given.length === expected.length && timingSafeEqual(given, Buffer.from(expected)) ? data : undefined;
  }

  private secret: Promise<string> | undefined;

  /** HMAC-SHA256 of topic and data under the database's notify secret (migration 009). */
  private async mac(topic: string, data: string): Promise<string> {
    this.secret ??= this.pool
      .query<{ value: string }>(`SELECT value FROM tollgate_secret WHERE name = 'notify_hmac'`)
      .then((r) => {
        if (!r.rows[0]) throw new Error('no notify secret: migrations not applied');
        return r.rows[0].value;
      })
      .catch((err: unknown) => {
        this.secret = undefined; // try again next time
        throw err;
      });
    return createHmac('sha256', await this.secret).update(`${topic}\n${data}`).digest('hex');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => undefined);
  }
}
