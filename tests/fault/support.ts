import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

/**
 * What the fault suite needs without Docker: a private PostgreSQL it may stop and start (the
 * machine's own binaries, initdb into a temporary folder, a free port), and the built proxy as a
 * child process it may SIGTERM or kill -9.
 */

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const MAIN = fileURLToPath(new URL('../../proxy/dist/main.js', import.meta.url));

/** Why the suite cannot run here, or undefined when it can. */
export function faultSuiteUnavailable(): string | undefined {
  if (!existsSync(join(PG_BIN, 'initdb')) || !existsSync(join(PG_BIN, 'pg_ctl'))) {
    return `PostgreSQL server binaries not found in ${PG_BIN} (set PG_BIN): the fault suite starts a private Postgres it can stop`;
  }
  if (!existsSync(MAIN)) return 'proxy/dist/main.js is missing: build the proxy first (npm run build -w proxy)';
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PrivatePostgres {
  url: string;
  start(): void;
  /** Stops it the way an outage looks to clients: connections terminated, new ones refused. */
  stop(): void;
  destroy(): void;
}

/** initdb refuses root: as root, the server runs as `nobody`, which owns the temporary folder. */
function asServerUser(args: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'nobody', '--', ...args] : args;
}

function run(args: string[]): void {
  const [cmd, ...rest] = asServerUser(args);
  const r = spawnSync(cmd!, rest, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stdout}\n${r.stderr}`);
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-fault-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  run([join(PG_BIN, 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const pg = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => run([join(PG_BIN, 'pg_ctl'), '-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']),
    stop: () => run([join(PG_BIN, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop']),
    destroy: () => {
      const [cmd, ...rest] = asServerUser([join(PG_BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
      spawnSync(cmd!, rest);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  pg.start();
  return pg;
}

export interface ProxyChild {
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  base: string;
  /** pino's JSON lines so far, parsed. */
  logs(): Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Proxies started and not yet exited: a failed test must not leave one running (stopAllProxies). */
const running = new Set<ChildProcess>();

/** Kills every proxy a test started that is still running. */
export function stopAllProxies(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** The built proxy (`npm start`'s entry) with `env`; resolves once it listens. */
export function startProxy(env: Record<string, string>): Promise<ProxyChild> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const logs = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Tollgate proxy on http:\/\/localhost:(\d+)\/v1/.exec(out);
      if (m) resolve({ child, base: `http://127.0.0.1:${m[1]}`, logs, exited });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`proxy exited with ${code} before listening: ${out}`)));
  });
}

export type Kind = 'plain' | 'cache' | 'persona' | 'key';

export interface Answer {
  kind: Kind;
  status: number;
  requestId: string | undefined;
  retryAfter: string | undefined;
  cache: string | undefined;
  body: string;
  /** When the request was sent, and when its answer had fully arrived. */
  sentAt: number;
  at: number;
}

let seq = 0;

/** One call of the given kind, read to its end; undefined when no answer came (connection cut). */
export async function call(base: string, kind: Kind, runId: string): Promise<Answer | undefined> {
  const n = ++seq;
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: 'Bearer sk-fault' };
  let path = '/v1/chat/completions';
  let body: unknown = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${runId} plain ${n}` }] };
  if (kind === 'cache') {
    headers['x-tollgate-cache'] = 'on';
    // Half of them a few bodies over and over (hits, from memory too), half new ones (misses).
    body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${runId} cached ${n % 10 < 5 ? n % 5 : n}` }] };
  } else if (kind === 'persona') {
    path = '/api/personas/generate';
    body = { email: `lead${n}@example.com`, leadData: { run: runId, n: n % 7 }, config: { numPersonas: 1 } };
  } else if (kind === 'key') {
    headers['idempotency-key'] = `${runId}-${n}`;
  }
  const sentAt = Date.now();
  try {
    const res = await request(base + path, { method: 'POST', headers, body: JSON.stringify(body), headersTimeout: 20_000, bodyTimeout: 20_000 });
    const text = await res.body.text();
    const h = (name: string) => {
      const v = res.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    return { kind, status: res.statusCode, requestId: h('x-tollgate-request-id'), retryAfter: h('retry-after'), cache: h('x-tollgate-cache'), body: text, sentAt, at: Date.now() };
  } catch {
    return undefined;
  }
}

/**
 * One call that tells `onAnswer` its request id the moment the caller has its whole answer: a JSON
 * body's last byte, or a stream's `data: [DONE]` (where SDKs stop reading and hang up). Errors and
 * cut connections are not answers.
 */
export async function callUntilAnswered(base: string, kind: 'plain' | 'stream' | 'cache' | 'persona', tag: string, onAnswer: (requestId: string) => void): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: 'Bearer sk-fault' };
  let path = '/v1/chat/completions';
  let body: unknown = { model: 'gpt-4o-mini', stream: kind === 'stream', messages: [{ role: 'user', content: `${tag} ${kind}` }] };
  if (kind === 'cache') headers['x-tollgate-cache'] = 'on';
  if (kind === 'persona') {
    path = '/api/personas/generate';
    body = { email: `${tag}@example.com`, leadData: { tag }, config: { numPersonas: 1 } };
  }
  try {
    const res = await request(base + path, { method: 'POST', headers, body: JSON.stringify(body), headersTimeout: 20_000, bodyTimeout: 20_000 });
    const requestId = res.headers['x-tollgate-request-id'] as string;
    if (kind === 'stream') {
      let text = '';
      for await (const chunk of res.body) {
        text += (chunk as Buffer).toString();
        if (text.includes('data: [DONE]\n\n')) {
          if (res.statusCode === 200) onAnswer(requestId);
          res.body.destroy();
          return;
        }
      }
      return;
    }
    await res.body.text();
    if (res.statusCode === 200) onAnswer(requestId);
  } catch {
    // Cut by the kill: no answer.
  }
}

/** Calls at `perSecond`, kinds in turn, until `until()` says stop; every answer that came back. */
export async function load(base: string, kinds: Kind[], perSecond: number, until: () => boolean, runId: string): Promise<Answer[]> {
  const answers: Answer[] = [];
  const inflight: Array<Promise<void>> = [];
  let i = 0;
  const started = Date.now();
  while (!until()) {
    const kind = kinds[i % kinds.length]!;
    inflight.push(call(base, kind, runId).then((a) => void (a && answers.push(a))));
    i++;
    const next = started + (i * 1000) / perSecond;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  await Promise.all(inflight);
  return answers;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns true or `ms` pass; whether it did. */
export async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() >= until) return false;
    await sleep(100);
  }
}
