import type { Server } from 'node:http';
import { createApp } from './app.js';
import { sseErrorEvent } from './call/sse.js';
import { startCleanup } from './cache/index.js';
import { startCallLogMaintenance } from './log/partitions.js';
import { configOrExit, step } from './cli.js';
import { connectDatabase } from './db/connect.js';
import { migrate } from './db/migrate.js';
import { createLogger } from './logger.js';
import { closeDeps, createDeps } from './runtime.js';

const config = configOrExit();
const logger = createLogger(config.LOG_LEVEL);
const db = await step(
  config.DATABASE_URL ? 'connecting to DATABASE_URL' : `starting the embedded Postgres on port ${config.PGLITE_PORT} (PGLITE_PORT)`,
  () => connectDatabase(config),
);
const { applied } = await step('applying migrations', () => migrate(db.pool));
if (applied.length) logger.info({ applied }, 'migrations applied');
if (db.embedded) {
  logger.info({ databaseUrl: db.url, dataDir: config.PGLITE_DATA_DIR }, 'embedded Postgres running');
  console.log(`Embedded Postgres (PGlite) at ${db.url}  (psql "${db.url}")`);
}
const deps = await step('loading the configuration', () => createDeps(config, db.pool, logger));
const app = createApp(deps);
startCallLogMaintenance(db.pool, { foldIntervalMs: 5_000, partitionIntervalMs: 3_600_000, retentionDays: config.CALL_LOG_RETENTION_DAYS }, logger);
const stopCleanup = startCleanup(db.pool, config.CACHE_CLEANUP_INTERVAL_MS, logger, {
  requestLogRetentionDays: config.REQUEST_LOG_RETENTION_DAYS,
});
// Express 5 calls this back on a failed listen too: the 'error' handler below reports that.
const server: Server = app.listen(config.PORT, config.HOST, (err?: Error) => {
  if (err) return;
  const addr = server.address();
  const port = addr && typeof addr === 'object' ? addr.port : config.PORT;
  logger.info({ port, upstream: config.UPSTREAM_BASE_URL }, 'tollgate proxy listening');
  console.log(`Tollgate proxy on http://localhost:${port}/v1  ->  ${config.UPSTREAM_BASE_URL}`);
});
server.on('error', (err: NodeJS.ErrnoException) => {
  console.error(`Tollgate could not start: listening on ${config.HOST}:${config.PORT} (PORT): ${err.message}`);
  process.exit(1);
});
// Streams can be idle for a while between chunks; node's defaults would cut long generations.
server.requestTimeout = 0;
server.headersTimeout = 65_000;
server.keepAliveTimeout = 65_000;

let stopping = false;
/**
 * SIGTERM / SIGINT, in this order: stop taking connections (/readyz says draining); let in-flight
 * requests finish for SHUTDOWN_GRACE_MS; end the event streams still open with an SSE error event
 * (an SDK raises instead of waiting for a [DONE] that never comes) and cancel the upstream calls
 * still running, so every call ends and records its row; flush the call log (what the database
 * does not take stays in the spool for the next start); then close the pool.
 */
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  deps.draining = true;
  logger.info({ signal, inflight: app.inflight.size }, 'draining in-flight requests');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections turn idle as their last response ends; close them as they do, so the
  // drain ends when the last in-flight request does rather than at the grace deadline.
  const reaper = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  const grace = new Promise<void>((resolve) => setTimeout(resolve, config.SHUTDOWN_GRACE_MS).unref());
  await Promise.race([closed, grace]);
  const streams = app.inflight.openStreams();
  for (const res of streams) {
    res.end(sseErrorEvent('Tollgate is shutting down; the stream was ended before its end. Retry the request.', 'server_error', 'server_shutting_down'));
  }
  const running = app.inflight.size;
  if (running) {
    logger.warn({ streams: streams.length, requests: running }, 'grace period over: open streams ended with an error event, upstream calls cancelled');
    await deps.upstream.destroy().catch(() => undefined);
  }
  // Every call logs its row as it ends; a few seconds at most for the last ones to get there.
  const left = await app.inflight.settled(3000);
  if (left) logger.warn({ requests: left }, 'calls still running after the grace period; their rows may be missing');
  clearInterval(reaper);
  server.closeAllConnections();
  stopCleanup();
  await closeDeps(deps);
  logger.info({ pending: deps.callLog.pending }, deps.callLog.pending ? 'call log flushed as far as the database allowed; the rest waits in the spool' : 'call log flushed');
  await db.close();
  logger.info('database pool closed; bye');
  // The process ends by itself once pino's asynchronous writes have landed (process.exit would
  // write what is still buffered ahead of a write in flight: the last lines out of order); the
  // timer, which does not keep it alive, ends it if a handle lingers.
  process.exitCode = 0;
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
