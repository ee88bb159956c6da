/**
 * A second proxy process for cross-process tests: the real app (createApp) on the database and
 * fake upstream named by its environment, listening on 127.0.0.1:0. It prints `{"port":N}` on one
 * line when ready and, on SIGTERM, flushes its call log and exits. Compiled and spawned by
 * spawnReplica() in replicaProcess.ts; not a Jest test.
 */
import type { AddressInfo } from 'node:net';
import { createApp } from '../../proxy/src/app.js';
import { loadConfig } from '../../proxy/src/config.js';
import { createPool } from '../../proxy/src/db/pool.js';
import { createLogger } from '../../proxy/src/logger.js';
import { closeDeps, createDeps } from '../../proxy/src/runtime.js';

const url = process.env.TEST_DATABASE_URL;
if (!url) throw new Error('TEST_DATABASE_URL is not set');
const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', LOG_FLUSH_MS: '20' });
const pool = createPool(url, 8);
const deps = createDeps(config, pool, createLogger(config.LOG_LEVEL));
const server = createApp(deps).listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void closeDeps(deps)
    .then(() => pool.end())
    .finally(() => process.exit(0));
});
