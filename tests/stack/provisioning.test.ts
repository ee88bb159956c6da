import { readdirSync } from 'node:fs';
import { parse } from 'yaml';
import type { Pool } from '../../proxy/src/db/pool.js';
import { testPool } from '../support/db.js';
import { interpolate, loadCompose, parseDotenv, read, ROOT } from './composeFile.js';

/**
 * Grafana's provisioned datasource must reach the stack's database as the role the proxy's
 * migrations create, with the password the stack gives both sides.
 */
interface Datasource {
  uid: string;
  type: string;
  url: string;
  user: string;
  jsonData: { database: string; sslmode?: string };
  secureJsonData: { password: string };
}

const dotenv = parseDotenv(read('.env.example'));
const compose = loadCompose(dotenv);
const grafanaEnv = compose.services.grafana!.environment as Record<string, string>;
const pgEnv = compose.services.postgres!.environment as Record<string, string>;
const migration003 = readdirSync(`${ROOT}sql/migrations`).find((f) => /^003_.*\.sql$/.test(f));
const roleSql = migration003 ? read(`sql/migrations/${migration003}`) : '';

function datasource(): Datasource {
  const files = readdirSync(`${ROOT}provisioning/datasources`).filter((f) => /\.ya?ml$/.test(f));
  const all = files.flatMap((f) => (parse(read(`provisioning/datasources/${f}`)) as { datasources?: Datasource[] }).datasources ?? []);
  const ds = all.find((d) => d.uid === 'tollgate-postgres');
  if (!ds) throw new Error('no datasource with uid tollgate-postgres in provisioning/datasources');
  return ds;
}

describe('provisioning/ against the compose stack and the migrations', () => {
  it("connects to the stack's database as the read-only role, with the password both sides get", () => {
    const ds = datasource();
    expect(ds.type).toBe('grafana-postgresql-datasource');
    expect(ds.url).toBe('postgres:5432');
    expect(Object.keys(compose.services)).toContain('postgres');
    expect(ds.jsonData.database).toBe(pgEnv.POSTGRES_DB);

    const role = /CREATE ROLE (\w+) LOGIN PASSWORD '([^']*)'/.exec(roleSql);
    expect(role).not.toBeNull();
    expect(ds.user).toBe(role![1]);
    // Grafana expands ${VAR} in provisioning files from its own environment.
    const password = interpolate(ds.secureJsonData.password, grafanaEnv);
    expect(password).toBe(grafanaEnv.TOLLGATE_GRAFANA_DB_PASSWORD);
    // Out of the box that is the migration's password; the proxy syncs the role to any other value.
    expect(password).toBe(role![2]);
    expect(compose.services.proxy!.environment!.TOLLGATE_GRAFANA_DB_PASSWORD).toBe(password);
  });

  it('passes any role password through unchanged, never inside a URL', () => {
    const ds = datasource();
    // Host and port only: user and password are separate fields, so no character needs escaping.
    expect(ds.url).toMatch(/^[\w.-]+:\d+$/);
    const password = "p/a#s?s@w%2Fo:r d'$x";
    const env = loadCompose({ ...dotenv, TOLLGATE_GRAFANA_DB_PASSWORD: password }).services.grafana!.environment as Record<string, string>;
    expect(interpolate(ds.secureJsonData.password, env)).toBe(password);
  });

  it('enables the app on that datasource, and loads dashboards from inside the mounted folder', () => {
    const apps = (parse(read('provisioning/plugins/tollgate-llm-app.yaml')) as { apps: Array<{ type: string; jsonData: { datasourceUid: string } }> }).apps;
    expect(apps.map((a) => [a.type, a.jsonData.datasourceUid])).toEqual([['tollgate-llm-app', 'tollgate-postgres']]);

    const mount = (compose.services.grafana!.volumes ?? []).find((v) => v.startsWith('./provisioning:'))!;
    const target = mount.split(':')[1]!;
    const dashFiles = readdirSync(`${ROOT}provisioning/dashboards`).filter((f) => /\.ya?ml$/.test(f));
    expect(dashFiles.length).toBeGreaterThan(0);
    for (const f of dashFiles) {
      const providers = (parse(read(`provisioning/dashboards/${f}`)) as { providers: Array<{ options: { path: string } }> }).providers;
      for (const p of providers) {
        expect(p.options.path.startsWith(`${target}/`)).toBe(true);
        // The folder it names exists in the repository and holds dashboards.
        const inRepo = `provisioning/${p.options.path.slice(target.length + 1)}`;
        expect(readdirSync(`${ROOT}${inRepo}`).some((x) => x.endsWith('.json'))).toBe(true);
      }
    }
  });
});

describe('the read-only role on a migrated database', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = await testPool(2);
  });
  afterAll(async () => {
    await pool.end();
  });

  it('exists, can log in, and may read (not write) the tables the demo fills', async () => {
    const user = datasource().user;
    const { rows } = await pool.query<{ rolcanlogin: boolean }>('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [user]);
    expect(rows).toEqual([{ rolcanlogin: true }]);
    // The caches are readable by column (migration 007): their bookkeeping, not their bodies.
    for (const table of ['openai_call_log', 'persona_cache', 'request_log']) {
      const r = await pool.query<{ sel: boolean; ins: boolean }>(
        `SELECT has_any_column_privilege($1, $2, 'SELECT') AS sel, has_table_privilege($1, $2, 'INSERT') AS ins`,
        [user, table],
      );
      expect([table, r.rows[0]]).toEqual([table, { sel: true, ins: false }]);
    }
  });
});
