import { createPool, type Pool } from '../../proxy/src/db/pool.js';
import { migrate } from '../../proxy/src/db/migrate.js';

/** A pool on this run's database (see globalSetup.js), migrated. End it in afterAll. */
export async function testPool(max = 4): Promise<Pool> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests through jest (globalSetup)');
  const pool = createPool(url, max);
  await migrate(pool);
  return pool;
}
