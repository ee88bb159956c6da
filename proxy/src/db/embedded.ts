import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** A postgres:// URL that pg, psql or Grafana can use while this process runs. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Runs Postgres in-process (PGlite) and exposes it on a TCP port, so the proxy, psql and
 * Grafana all speak the ordinary wire protocol to it. dataDir undefined means in-memory.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir?: string;
  port: number;
  host?: string;
}): Promise<EmbeddedPostgres> {
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const db = opts.dataDir ? await PGlite.create(opts.dataDir) : await PGlite.create();
  const host = opts.host ?? '127.0.0.1';
  // PGlite is one session; the socket server multiplexes client connections onto it and keeps
  // a transaction's statements together.
  const server = new PGLiteSocketServer({ db, port: opts.port, host, maxConnections: 64 });
  await server.start();
  const address = (server as unknown as { server?: { address(): { port: number } | string | null } }).server?.address();
  const port = address && typeof address === 'object' ? address.port : opts.port;
  return {
    url: `postgres://postgres@${host}:${port}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
