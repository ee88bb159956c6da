import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/** What DatabaseHealth.attempt returns when the database could not be asked. */
export const UNAVAILABLE = Symbol('database unavailable');

/**
 * Whether the database answered the last time anyone asked, for /readyz's body and the
 * tollgate_database_up gauge. The proxy keeps serving during an outage (caches and keys degrade,
 * the call log waits in its spool), so this is reported, never a reason to stop taking traffic.
 */
/** error_type of a call served without the cache it asked for (response or persona cache): the database was away. */
export const CACHE_UNAVAILABLE = 'cache_unavailable';
/** error_type of a call served without its Idempotency-Key's guarantee (IDEMPOTENCY_WHEN_DB_DOWN=serve). */
export const IDEMPOTENCY_UNAVAILABLE = 'idempotency_unavailable';

/** How often, during an outage, one optional lookup tries the database again. */
const RETRY_MS = 1000;

export class DatabaseHealth {
  private up = true;
  private changedAt = Date.now();
  private triedAt = 0;

  constructor(
    metrics?: Metrics,
    private readonly logger?: Logger,
  ) {
    if (metrics) metrics.probes.databaseUp = () => (this.up ? 1 : 0);
  }

  /**
   * An optional database call (a cache lookup, a dedup check): its value, or UNAVAILABLE when the
   * database is away, so the caller serves without it instead of failing. During an outage it is
   * not even tried but once a second (worthTrying).
   */
  async attempt<T>(fn: () => Promise<T>, what: string, requestId: string): Promise<T | typeof UNAVAILABLE> {
    if (!this.up && !this.worthTrying()) return UNAVAILABLE;
    try {
      const value = await fn();
      this.ok();
      return value;
    } catch (err) {
      this.failed();
      this.logger?.debug({ err: (err as Error).message, requestId }, `${what} unavailable; serving without it`);
      return UNAVAILABLE;
    }
  }

  get isUp(): boolean {
    return this.up;
  }

  /** Milliseconds since the state last changed. */
  get forMs(): number {
    return Date.now() - this.changedAt;
  }

  /**
   * During an outage, whether an optional lookup (a cache, a dedup check) should ask the database
   * now: once a second, so the other calls go straight to the degraded path instead of each
   * waiting for a connection to fail. Callers check isUp first.
   */
  worthTrying(): boolean {
    if (this.up) return true;
    const now = Date.now();
    if (now - this.triedAt < RETRY_MS) return false;
    this.triedAt = now;
    return true;
  }

  failed(): void {
    if (!this.up) return;
    this.up = false;
    this.changedAt = this.triedAt = Date.now();
  }

  ok(): void {
    if (this.up) return;
    this.up = true;
    this.changedAt = Date.now();
  }
}
