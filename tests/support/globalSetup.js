import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * One fresh database per test run, so earlier runs' cache rows can never turn a test's first
 * call into a hit: a new database on the server named by DATABASE_URL when it is set, otherwise
 * an in-memory embedded Postgres. Test files get its URL as TEST_DATABASE_URL and migrate it
 * themselves (tests/support/db.ts), which also exercises concurrent migration.
 * Plain JS because Jest loads global setup outside its module mapper.
 */
export default async function globalSetup() {
  let url;
  if (process.env.DATABASE_URL) {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    const name = `tollgate_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(process.env.DATABASE_URL);
    u.pathname = `/${name}`;
    url = u.toString();
    globalThis.__tollgateTeardown = async () => {
      const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  } else {
    const db = await PGlite.create();
    const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 64 });
    await server.start();
    const port = server.server.address().port;
    url = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
    globalThis.__tollgateTeardown = async () => {
      await server.stop();
      await db.close();
    };
  }
  process.env.TEST_DATABASE_URL = url;
  // PGlite is one session: LISTEN/NOTIFY does not cross connections there (tests that need it skip).
  process.env.TEST_DATABASE_EMBEDDED = process.env.DATABASE_URL ? '' : '1';
  // The call log's spool (SPOOL_DIR) of every proxy this run starts, in-process or as a child: a
  // folder of its own, so rows of a test run are never replayed into another run's database (or
  // a developer's, from .tollgate/spool).
  const spool = mkdtempSync(join(tmpdir(), 'tollgate-test-spool-'));
  process.env.SPOOL_DIR = spool;
  globalThis.__tollgateSpool = spool;
}
