import type pg from 'pg';

export const GRAFANA_ROLE = 'tollgate_grafana';

/**
 * Sets the password of Grafana's read-only role (created by migration 003 with a fixed demo
 * password, which it never resets) to `password`, so that the one TOLLGATE_GRAFANA_DB_PASSWORD in
 * the compose stack's .env is what both the role and Grafana's provisioned datasource use.
 * Returns false when the role does not exist (migrations not applied). Needs CREATEROLE, which the
 * stack's database owner has.
 */
export async function syncGrafanaRolePassword(pool: pg.Pool, password: string): Promise<boolean> {
  const client = await pool.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [GRAFANA_ROLE]);
    if (!rowCount) return false;
    // ALTER ROLE takes no bind parameters; escapeLiteral quotes the password safely.
    await client.query(`ALTER ROLE ${GRAFANA_ROLE} PASSWORD ${client.escapeLiteral(password)}`);
    return true;
  } finally {
    client.release();
  }
}
