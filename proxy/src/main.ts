import type { Server } from 'node:http';
import { createApp } from './app.js';
import { startCleanup } from './cache/index.js';
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
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'draining in-flight requests');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections turn idle as their last response ends; close them as they do, so the
  // drain ends when the last in-flight request does rather than at the grace deadline.
  const reaper = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  const grace = new Promise<void>((resolve) => setTimeout(resolve, config.SHUTDOWN_GRACE_MS).unref());
  await Promise.race([closed, grace]);
  clearInterval(reaper);
  server.closeAllConnections();
  stopCleanup();
  await closeDeps(deps);
  await db.close();
  logger.info('call log flushed; bye');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
