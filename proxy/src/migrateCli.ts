import { configOrExit, step } from './cli.js';
import { connectDatabase } from './db/connect.js';
import { migrate } from './db/migrate.js';

const config = configOrExit();
const db = await step(config.DATABASE_URL ? 'connecting to DATABASE_URL' : 'starting the embedded Postgres', () => connectDatabase(config));
try {
  const { applied, skipped } = await step('applying migrations', () => migrate(db.pool));
  console.log(`migrations applied: ${applied.length ? applied.join(', ') : 'none'}; already applied: ${skipped.length}`);
} finally {
  await db.close();
}
