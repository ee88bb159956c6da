import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  const unlock = opts.dataDir ? lockDataDir(opts.dataDir) : () => undefined;
  let db: PGlite;
  try {
    db = opts.dataDir ? await PGlite.create(opts.dataDir) : await PGlite.create();
  } catch (err) {
    unlock();
    throw err;
  }
  const host = opts.host ?? '127.0.0.1';
  // PGlite is one session; the socket server multiplexes client connections onto it and keeps
  // a transaction's statements together.
  const server = new PGLiteSocketServer({ db, port: opts.port, host, maxConnections: 64 });
  try {
    await server.start();
  } catch (err) {
    await db.close().catch(() => undefined);
    unlock();
    throw err;
  }
  const address = (server as unknown as { server?: { address(): { port: number } | string | null } }).server?.address();
  const port = address && typeof address === 'object' ? address.port : opts.port;
  return {
    url: `postgres://postgres@${host}:${port}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
      unlock();
    },
  };
}

/**
 * PGlite is a database in this process: a second process opening the same folder would keep its
 * own copy and lose the other's writes. A lock file with the owner's pid refuses that; one left
 * by a process that no longer runs (killed) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'tollgate.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isRunning(owner)) {
        throw new Error(
          `the data folder ${dataDir} (PGLITE_DATA_DIR) is in use by process ${owner}; stop it, give this process another PGLITE_DATA_DIR, or set DATABASE_URL to the connection string that process printed`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock the data folder ${dataDir} (PGLITE_DATA_DIR)`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
