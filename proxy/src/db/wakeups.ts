import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../logger.js';
import type { Pool } from './pool.js';

const CHANNEL = 'tollgate_wake';
const RECONNECT_MS = 1000;
/** The topics the stores notify: `idem <tenant> <hash>` and `flight <scope> <key>`. */
const TOPIC = /^(?:idem|flight) \S/;

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
      // Any database user can NOTIFY on the channel: only our topics wake anyone (a payload such
      // as `error` must never reach EventEmitter's own events), and a wake-up only makes a waiter
      // look again, so a forged one costs a query.
      if (n.channel === CHANNEL && n.payload && TOPIC.test(n.payload)) this.local.emit(n.payload);
    });
    client.on('error', lost);
    client.on('end', () => lost());
    client
      .connect()
      .then(() => client.query(`LISTEN ${CHANNEL}`))
      .catch(lost);
  }

  /** Resolves after `ms`, or as soon as `topic` is notified, here or by another replica. */
  wait(topic: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.local.off(topic, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.local.on(topic, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Wakes the waiters of `topic`: in this process at once, in the other replicas through Postgres. */
  async notify(topic: string): Promise<void> {
    this.local.emit(topic);
    await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, topic]).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => undefined);
  }
}
