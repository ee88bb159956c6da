import { loadConfig } from './config.js';
import { connectDatabase } from './db/connect.js';
import { migrate } from './db/migrate.js';

const config = loadConfig();
const db = await connectDatabase(config);
try {
  const { applied, skipped } = await migrate(db.pool);
  console.log(`migrations applied: ${applied.length ? applied.join(', ') : 'none'}; already applied: ${skipped.length}`);
} finally {
  await db.close();
}
