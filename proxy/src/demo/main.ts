import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { GRAFANA_ROLE } from './grafanaRole.js';

/**
 * `npm run demo`: the whole product without Docker. The fake OpenAI upstream, the proxy on its
 * embedded Postgres, a month of backfilled history and the traffic generator, each the built entry
 * point in its own child process (exactly what runs in production and in the compose stack),
 * with their output prefixed. Prints where Postgres is and how to point a Grafana at it.
 */

const env = process.env;
const dist = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const port = (name: string, fallback: number) => {
  const raw = env[name];
  const v = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < 1 || v > 65535) throw new Error(`${name} must be a port number, got ${JSON.stringify(raw)}`);
  return v;
};
const off = (v: string | undefined) => ['0', 'false', 'no', 'off'].includes((v ?? '').trim().toLowerCase());

const proxyPort = port('PORT', 8080);
const mockPort = port('MOCK_PORT', 8090);
const pglitePort = port('PGLITE_PORT', 5433);
const proxyUrl = `http://localhost:${proxyPort}`;
const mockUrl = `http://127.0.0.1:${mockPort}/v1`;

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** Set once we asked it to stop, so its exit is not mistaken for a crash. */
  stopping: boolean;
}
const children: Child[] = [];
let shuttingDown = false;

function start(name: string, script: string, extraEnv: Record<string, string | undefined>, onLine?: (line: string) => void): Child {
  const childEnv: NodeJS.ProcessEnv = { ...env, ...extraEnv };
  for (const [k, v] of Object.entries(extraEnv)) if (v === undefined) delete childEnv[k];
  const proc = spawn(process.execPath, [dist(script)], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const tag = `${name.padEnd(8)}|`;
  for (const stream of [proc.stdout, proc.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      onLine?.(line);
      console.log(`${tag} ${line}`);
    });
  }
  const child: Child = {
    name,
    proc,
    stopping: false,
    exited: new Promise((resolve) => proc.once('exit', (code) => resolve(code))),
  };
  children.push(child);
  void child.exited.then((code) => {
    if (!child.stopping && !shuttingDown && (name !== 'traffic' || code !== 0)) {
      console.error(`demo: ${name} exited unexpectedly (code ${code}); stopping the rest`);
      void shutdown(1);
    } else if (name === 'traffic' && !shuttingDown) {
      console.log(`demo: traffic finished; the proxy keeps running for Grafana. Ctrl-C to stop.`);
    }
  });
  return child;
}

async function stop(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.stopping = true;
  child.proc.kill('SIGTERM');
  const killer = setTimeout(() => child.proc.kill('SIGKILL'), 20_000);
  await child.exited;
  clearTimeout(killer);
}

async function shutdown(code: number): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true;
    // Traffic first (it prints its summary), then the proxy (it flushes the call log), then the upstream.
    for (const child of [...children].reverse()) await stop(child);
  }
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
process.once('SIGHUP', () => void shutdown(0));
// `npm run demo` runs this under npm and a shell. A SIGTERM sent to npm alone (a process manager,
// an IDE's stop button, `kill <npm's pid>`) ends npm and the shell but not this process, which
// would keep the proxy, the upstream and the traffic running unseen: stop when orphaned.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) {
    console.error(`demo: parent process ${parentPid} is gone; stopping`);
    void shutdown(0);
  }
}, 500).unref();

async function waitFor(what: string, url: string, init: RequestInit, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until && !shuttingDown) {
    try {
      const res = await fetch(url, init);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what} not ready at ${url} after ${timeoutMs / 1000}s (${last})`);
}

/**
 * On a real Postgres (DATABASE_URL) Grafana reads through the read-only role of migration 003
 * (tollgate_grafana, password 'tollgate_grafana' unless changed), not as the proxy's owner role.
 * The embedded Postgres is single-user: any user name connects as its one superuser.
 */
function grafanaSnippet(dbUrl: string, embedded: boolean): string {
  const u = new URL(dbUrl);
  const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
  const login = embedded
    ? `user: ${decodeURIComponent(u.username) || 'postgres'}`
    : `user: ${GRAFANA_ROLE}   # read-only role (migration 003)
    secureJsonData:
      password: ${GRAFANA_ROLE}   # the migration's default; ALTER ROLE ${GRAFANA_ROLE} PASSWORD '...' to change it`;
  return `# provisioning/datasources/tollgate.yaml (restart Grafana after adding it)
apiVersion: 1
datasources:
  - name: Tollgate
    uid: tollgate-postgres
    type: grafana-postgresql-datasource
    url: ${u.hostname}:${u.port || 5432}
    ${login}
    jsonData:
      database: ${db}
      sslmode: disable
# provisioning/plugins/tollgate.yaml
apiVersion: 1
apps:
  - type: tollgate-llm-app
    org_id: 1
    disabled: false
    jsonData:
      datasourceUid: tollgate-postgres
# and in Grafana's environment (the plugin is unsigned):
#   GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=tollgate-llm-app
#   plugin files: npm run build -w plugin, then link plugin/dist into Grafana's plugins folder as tollgate-llm-app`;
}

async function main(): Promise<void> {
  const userDb = env.DATABASE_URL?.trim() || undefined;
  console.log(`demo: starting the fake OpenAI upstream, the proxy${userDb ? '' : ' on embedded Postgres'}, backfill and traffic`);

  start('mock', '../mock/main.js', {
    PORT: String(mockPort),
    HOST: '127.0.0.1',
    // Timings like a real model's, so latency and TTFB panels have something to show.
    MOCK_LATENCY_MS: env.MOCK_LATENCY_MS ?? '120',
    MOCK_CHUNK_DELAY_MS: env.MOCK_CHUNK_DELAY_MS ?? '25',
  });
  await waitFor('fake upstream', `${mockUrl}/models`, { headers: { Authorization: 'Bearer demo' } }, 20_000);

  let embeddedUrl: string | undefined;
  start(
    'proxy',
    '../main.js',
    {
      PORT: String(proxyPort),
      PGLITE_PORT: String(pglitePort),
      UPSTREAM_BASE_URL: mockUrl,
      // The demo never sends the demo keys anywhere but the fake upstream.
      OPENAI_API_KEY: undefined,
      LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
    },
    (line) => {
      const m = /Embedded Postgres \(PGlite\) at (\S+)/.exec(line);
      if (m) embeddedUrl = m[1];
    },
  );
  await waitFor('proxy', `${proxyUrl}/readyz`, {}, 90_000);
  const dbUrl = userDb ?? embeddedUrl ?? `postgres://postgres@127.0.0.1:${pglitePort}/postgres?sslmode=disable`;

  if (!off(env.DEMO_BACKFILL)) {
    const backfill = start('backfill', './backfill.js', { DATABASE_URL: dbUrl });
    backfill.stopping = true; // it is meant to exit
    const code = await backfill.exited;
    if (code !== 0) throw new Error(`backfill failed (exit code ${code})`);
  }

  console.log(`
==================================================================================
 Tollgate demo is up
   Proxy (OpenAI-compatible):  ${proxyUrl}/v1     health ${proxyUrl}/readyz   metrics ${proxyUrl}/metrics
   Fake OpenAI upstream:       ${mockUrl}
   Postgres:                   ${dbUrl}
     psql "${dbUrl}" -c "SELECT endpoint, count(*), sum(cost_usd) FROM openai_call_log GROUP BY 1"
   Try it:  curl ${proxyUrl}/v1/chat/completions -H 'Authorization: Bearer sk-demo-me' \\
              -H 'Content-Type: application/json' -H 'X-Tollgate-Cache: on' \\
              -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' -i
 Point an existing Grafana (${'>'}= 13.1.0) at it:
${grafanaSnippet(dbUrl, !userDb).replace(/^/gm, '   ')}
 Ctrl-C stops everything.
==================================================================================
`);

  if (!off(env.DEMO_TRAFFIC)) start('traffic', './traffic.js', { TRAFFIC_PROXY_URL: proxyUrl, TRAFFIC_UPSTREAM_IS_REAL: undefined });
}

main().catch((err: unknown) => {
  console.error(`demo: ${(err as Error).message}`);
  void shutdown(1);
});
