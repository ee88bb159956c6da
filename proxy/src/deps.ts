import type OpenAI from 'openai';
import type { ResponseCache } from './cache/store.js';
import type { SingleFlight } from './coalesce/singleFlight.js';
import type { Config } from './config.js';
import type { DatabaseHealth } from './db/health.js';
import type { Pool } from './db/pool.js';
import type { Wakeups } from './db/wakeups.js';
import type { IdempotencyGuard } from './idempotency/guard.js';
import type { IdempotencyStore } from './idempotency/store.js';
import type { CallLogWriter } from './log/callLog.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { PriceTable } from './pricing/cost.js';
import type { UpstreamClient } from './upstream/client.js';
import type { Admission } from './call/admission.js';

/** The stores every route shares, built once at start-up and closed by closeDeps. */
export interface Stores {
  idempotency: IdempotencyStore;
  /** The one Idempotency-Key guard of /v1, /api/personas/generate and /api/chat/stream. */
  keys: IdempotencyGuard;
  responseCache: ResponseCache;
  /** Single flight (same process and across replicas) for cache misses and persona generations. */
  flights: SingleFlight;
}

/** Everything a route needs, built once in main.ts (or by a test) and passed down. */
export interface AppDeps {
  config: Config;
  pool: Pool;
  logger: Logger;
  metrics: Metrics;
  callLog: CallLogWriter;
  prices: PriceTable;
  /** The one upstream HTTP stack (undici, with UPSTREAM_* timeouts and connection settings). */
  upstream: UpstreamClient;
  /** The openai SDK over that same stack, for Tollgate's own routes; the key goes per request. */
  openai: OpenAI;
  stores: Stores;
  /** MAX_CONCURRENT_REQUESTS: requests over it wait a bounded time, then 503. */
  admission: Admission;
  /** Distinguishes this process in inflight_request rows (single flight across replicas). */
  instanceId: string;
  /** Wakes waiters on other replicas' work (LISTEN/NOTIFY), shared by the idempotency and flight stores. */
  wakeups: Wakeups;
  /** Whether the database answered lately (/readyz body, tollgate_database_up); never stops traffic. */
  dbHealth: DatabaseHealth;
  /** Set by main.ts on SIGTERM: /readyz answers 503 so no new traffic is sent here. */
  draining?: boolean;
}
