import pg from 'pg';

// NUMERIC comes back as a string by default; costs are summed in SQL, and in JS a float is fine.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v: string) => Number(v));
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

export type Pool = pg.Pool;

export function createPool(connectionString: string, max: number): pg.Pool {
  // A server that accepts the connection but never answers must fail the query, not hang it.
  const pool = new pg.Pool({ connectionString, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}
