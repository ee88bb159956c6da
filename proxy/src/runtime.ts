import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { ResponseCache } from './cache/store.js';
import { Admission } from './call/admission.js';
import { SingleFlight } from './coalesce/singleFlight.js';
import { IdempotencyGuard } from './idempotency/guard.js';
import { IdempotencyStore } from './idempotency/store.js';
import type { Config } from './config.js';
import type { Pool } from './db/pool.js';
import { Wakeups } from './db/wakeups.js';
import type { AppDeps } from './deps.js';
import { KNOWN_ENDPOINTS } from './endpoint.js';
import { DatabaseHealth } from './db/health.js';
import { CallLogWriter } from './log/callLog.js';
import { Spool } from './log/spool.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { loadPriceTable } from './pricing/cost.js';
import { createUpstreamClient } from './upstream/client.js';

/** Builds the dependencies of one proxy instance over an already migrated database pool. */
export function createDeps(config: Config, pool: Pool, logger: Logger = createLogger(config.LOG_LEVEL)): AppDeps {
  const prices = loadPriceTable(config.PRICES_FILE);
  const metrics = createMetrics({ endpoint: (e) => KNOWN_ENDPOINTS.has(e), model: (m) => m in prices.models || m in prices.images });
  const wakeups = new Wakeups(pool, logger);
  wakeups.listen();
  const instanceId = randomUUID();
  const upstream = createUpstreamClient({
    baseUrl: config.UPSTREAM_BASE_URL,
    timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
    connections: config.UPSTREAM_CONNECTIONS,
  });
  const idempotency = new IdempotencyStore(pool, { wakeups });
  const dbHealth = new DatabaseHealth(metrics, logger);
  // The spool tells the writer what it refused; the writer counts it and logs it once.
  let callLog: CallLogWriter | undefined;
  const spool = new Spool(
    { root: config.SPOOL_DIR, maxBytes: config.SPOOL_MAX_BYTES, fsyncMs: config.SPOOL_FSYNC_MS },
    {
      refused: (rows, why) => callLog?.spoolRefused(rows, why),
      adopted: () => callLog?.adopted(),
      torn: (lines, file) => logger.error({ lines, file }, 'call log spool: lines cut short by a crash are not rows; set aside'),
    },
  );
  callLog = new CallLogWriter(pool, { batchSize: config.LOG_BATCH_SIZE, flushMs: config.LOG_FLUSH_MS, maxQueue: config.LOG_MAX_QUEUE, copy: true }, logger, metrics, spool, dbHealth);
  return {
    config,
    pool,
    logger,
    metrics,
    prices,
    callLog,
    upstream,
    // The key goes with each request (the caller's own, or OPENAI_API_KEY); this one is never sent.
    openai: new OpenAI({ apiKey: 'set-per-request', baseURL: config.UPSTREAM_BASE_URL, timeout: config.UPSTREAM_TIMEOUT_MS, maxRetries: 0, fetch: upstream.fetch }),
    stores: {
      idempotency,
      keys: new IdempotencyGuard({ config, logger, prices, dbHealth }, idempotency),
      responseCache: new ResponseCache(pool, { lruEntries: config.RESPONSE_CACHE_LRU_ENTRIES }),
      flights: new SingleFlight(pool, instanceId, { waitMs: config.COALESCE_WAIT_MS, wakeups }),
    },
    admission: new Admission(config.MAX_CONCURRENT_REQUESTS, config.CONCURRENCY_WAIT_MS),
    instanceId,
    wakeups,
    dbHealth,
  };
}

/** Releases what createDeps opened (not the pool, which the caller owns). */
export async function closeDeps(deps: AppDeps): Promise<void> {
  deps.stores.flights.close();
  deps.stores.idempotency.close();
  await deps.stores.responseCache.close();
  await deps.callLog.close();
  // Already destroyed when a shutdown cut the calls still running: nothing left to close.
  await deps.upstream.close().catch(() => undefined);
  await deps.wakeups.close();
}
