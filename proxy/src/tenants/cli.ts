import { readFileSync } from 'node:fs';
import { configOrExit, step } from '../cli.js';
import { connectDatabase } from '../db/connect.js';
import { migrate } from '../db/migrate.js';
import { loadTenantNames } from './load.js';

// `npm run tenants:load -- <file.json>`: names and budgets for the Tenants page (see load.ts).
const path = process.argv[2];
if (!path) {
  console.error('usage: npm run tenants:load -- <tenant-names.json>');
  process.exit(2);
}
const file = await step(`reading ${path}`, () => JSON.parse(readFileSync(path, 'utf8')) as unknown);
const config = configOrExit();
const db = await step(config.DATABASE_URL ? 'connecting to DATABASE_URL' : 'starting the embedded Postgres', () => connectDatabase(config));
try {
  await step('applying migrations', () => migrate(db.pool));
  const n = await step(`loading ${path}`, () => loadTenantNames(db.pool, file));
  console.log(`tenant names loaded: ${n}`);
} finally {
  await db.close();
}
