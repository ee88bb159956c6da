import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp, type TollgateApp } from '../../proxy/src/app.js';
import { loadConfig, type Config } from '../../proxy/src/config.js';
import type { Pool } from '../../proxy/src/db/pool.js';
import type { AppDeps } from '../../proxy/src/deps.js';
import { createLogger } from '../../proxy/src/logger.js';
import { startMockUpstream, type MockUpstream } from '../../proxy/src/mock/server.js';
import { closeDeps, createDeps } from '../../proxy/src/runtime.js';
import { testPool } from './db.js';

export interface Stack {
  app: TollgateApp;
  deps: AppDeps;
  pool: Pool;
  mock: MockUpstream;
  /** Base URL for the openai SDK: http://127.0.0.1:PORT/v1 */
  proxyUrl: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * The real proxy (real express app on 127.0.0.1, this run's Postgres) in front of our fake
 * upstream. Config is the production schema's defaults plus `overrides`.
 */
export async function startStack(
  overrides: Partial<Record<keyof Config, string>> = {},
  mockOptions: { latencyMs?: number; chunkDelayMs?: number } = {},
  /** Wraps the proxy's pool (the fault tests make it fail like an unreachable database). */
  wrapPool: (pool: Pool) => Pool = (pool) => pool,
): Promise<Stack> {
  const mock = await startMockUpstream({ port: 0, ...mockOptions });
  const pool = wrapPool(await testPool(8));
  const config = loadConfig({
    UPSTREAM_BASE_URL: mock.url,
    LOG_LEVEL: 'silent',
    LOG_FLUSH_MS: '20',
    // This run's own spool folder (globalSetup): never .tollgate/spool, which `npm start` replays.
    ...(process.env.SPOOL_DIR ? { SPOOL_DIR: process.env.SPOOL_DIR } : {}),
    ...overrides,
  });
  const deps = createDeps(config, pool, createLogger(config.LOG_LEVEL));
  const app = createApp(deps);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    app,
    deps,
    pool,
    mock,
    server,
    proxyUrl: `http://127.0.0.1:${port}/v1`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeDeps(deps);
      await pool.end();
      await mock.close();
    },
  };
}

/**
 * The rows matching `where` once there are any (a call is logged when it ends, which for a caller
 * that left can be after the test saw it go), polling for up to `timeoutMs`; empty if none came.
 */
export async function loggedRowsWhenThere(stack: Stack, where: string, params: unknown[], timeoutMs = 3000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rows = await loggedRows(stack, where, params);
    if (rows.length || Date.now() >= until) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Rows logged for one request id, after flushing the batched writer. */
export async function loggedRows(stack: Stack, where: string, params: unknown[]) {
  await stack.deps.callLog.flush();
  const { rows } = await stack.pool.query(`SELECT * FROM openai_call_log WHERE ${where} ORDER BY created_at`, params);
  return rows as Array<Record<string, unknown>>;
}
