import type { Config } from '../config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';
import { createPool, type Pool } from './pool.js';

export interface Database {
  pool: Pool;
  url: string;
  embedded?: EmbeddedPostgres;
  close(): Promise<void>;
}

/** DATABASE_URL when set; otherwise an embedded Postgres persisted under PGLITE_DATA_DIR. */
export async function connectDatabase(config: Config): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.PGLITE_DATA_DIR, port: config.PGLITE_PORT });
    url = embedded.url;
  }
  const pool = createPool(url, config.DB_POOL_MAX);
  // Reached now, so a wrong URL is reported as such rather than as a failed migration.
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
  return {
    pool,
    url,
    embedded,
    async close() {
      await pool.end();
      await embedded?.stop();
    },
  };
}
