import type { Config } from './config.js';
import type { Pool } from './db/pool.js';
import type { Wakeups } from './db/wakeups.js';
import type { CallLogWriter } from './log/callLog.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { PriceTable } from './pricing/cost.js';
import type { UpstreamClient } from './upstream/client.js';

/** Everything a route needs, built once in main.ts (or by a test) and passed down. */
export interface AppDeps {
  config: Config;
  pool: Pool;
  logger: Logger;
  metrics: Metrics;
  callLog: CallLogWriter;
  prices: PriceTable;
  upstream: UpstreamClient;
  /** Distinguishes this process in inflight_request rows (single flight across replicas). */
  instanceId: string;
  /** Wakes waiters on other replicas' work (LISTEN/NOTIFY), shared by the idempotency and flight stores. */
  wakeups: Wakeups;
}
