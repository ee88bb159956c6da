import { fileURLToPath } from 'node:url';
import { startChild, stopChild, type Child } from './children.js';
import { runLoad, type LoadResult, type LoadSpec } from './load.js';
import { BenchConfigError, benchDataDir, benchSettings, type BenchSettings } from './settings.js';

/**
 * `npm run bench`: the fake upstream and the proxy run as child processes (the proxy with call
 * logging on, on DATABASE_URL or its embedded Postgres); this process generates load at a fixed
 * concurrency against each target in turn and prints proxy/direct ratios from the same run.
 */
const dist = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(url, { headers: { authorization: 'Bearer sk-bench' } });
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

// A database kept between runs (DATABASE_URL) still holds the last run's cache entries: every
// body carries this run's id so a "miss" is really one.
const RUN = Date.now().toString(36);
const chat = (i: number, stream: boolean) =>
  JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: `benchmark ${RUN} request ${i}` }] });

/** Rejects when a child dies or the user interrupts, so no step waits on a server that is gone. */
class Abort {
  readonly promise: Promise<never>;
  interrupted = false;
  fail!: (err: Error) => void;
  constructor() {
    this.promise = new Promise<never>((_, reject) => (this.fail = reject));
    this.promise.catch(() => undefined);
  }
  /** `p`, unless the run is aborted first. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.promise]);
  }
}

async function main(): Promise<number> {
  let settings: BenchSettings;
  try {
    settings = benchSettings(process.env);
  } catch (err) {
    if (!(err instanceof BenchConfigError)) throw err;
    console.error(err.message);
    return 2;
  }
  const abort = new Abort();
  const onSignal = (signal: string) => {
    abort.interrupted = true;
    abort.fail(new Error(`interrupted (${signal})`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const children: Child[] = [];
  const data = benchDataDir(process.env);
  const spawnChild = (name: string, script: string, listening: RegExp, timeoutMs: number, env: Record<string, string>) => {
    const child = startChild({
      name,
      args: [dist(script)],
      // Loopback only: the bench servers have no business on the network, and a port held by
      // another process on any interface still makes the bind fail.
      env: { ...process.env, HOST: '127.0.0.1', ...env },
      listening,
      timeoutMs,
      onCrash: (err) => abort.fail(err),
    });
    children.push(child);
    return child;
  };
  try {
    const mock = spawnChild('the fake upstream (mock/main.js)', 'mock/main.js', /listening on (http:\/\/\S+)/, 30_000, {
      PORT: String(settings.mockPort),
    });
    const direct = `http://127.0.0.1:${(await abort.race(mock.ready)).port}/v1`;
    const proxy = spawnChild('the proxy (main.js)', 'main.js', /Tollgate proxy on (http:\/\/\S+)/, 120_000, {
      PORT: String(settings.proxyPort),
      UPSTREAM_BASE_URL: direct,
      LOG_LEVEL: 'warn',
      PGLITE_PORT: '0',
      ...(data.dir ? { PGLITE_DATA_DIR: data.dir } : {}),
    });
    // It prints the address as localhost, which may resolve to ::1; it listens on 127.0.0.1.
    const viaProxy = `http://127.0.0.1:${(await abort.race(proxy.ready)).port}/v1`;
    await abort.race(waitFor(viaProxy.replace(/\/v1$/, '/readyz')));
    await abort.race(measure(settings, direct, viaProxy));
    return 0;
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    return abort.interrupted ? 130 : 1;
  } finally {
    // The proxy first: it flushes its call log and closes the embedded Postgres before the folder goes.
    for (const child of [...children].reverse()) await stopChild(child, 20_000);
    data.remove();
  }
}

async function measure(settings: BenchSettings, direct: string, viaProxy: string): Promise<void> {
  const { concurrency, requests } = settings;
  const base: Omit<LoadSpec, 'url' | 'body'> = { path: '/chat/completions', concurrency, requests };
  // Warm both paths (JIT, keep-alive pools, the proxy's DB pool) before measuring.
  for (const url of [direct, viaProxy]) await runLoad({ ...base, url, requests: 200, body: (i) => chat(i, false) });

  const rows: Array<[string, LoadResult, LoadResult]> = [];
  const pair = async (label: string, spec: Omit<LoadSpec, 'url'>) => {
    const d = await runLoad({ ...spec, url: direct });
    const p = await runLoad({ ...spec, url: viaProxy });
    rows.push([label, d, p]);
  };
  await pair('chat, JSON (latency to last byte)', { ...base, body: (i) => chat(i, false) });
  await pair('chat, SSE stream (time to first byte)', { ...base, body: (i) => chat(i, true), ttfb: true });
  await pair('chat, SSE stream (latency to last byte)', { ...base, body: (i) => chat(i, true) });
  for (const extra of await extraScenarios(direct, viaProxy, base)) rows.push(extra);

  console.log(`\nTollgate bench: ${requests} requests per row, concurrency ${concurrency}, logging on`);
  console.log(`(fake upstream ${direct}, proxy ${viaProxy})`);
  console.log('(cache rows: "direct" columns are the miss, "proxy" columns the hit; ratios are hit/miss)');
  console.log('scenario | direct rps | proxy rps | rps ratio | direct p50/p99 ms | proxy p50/p99 ms | p50 ratio | p99 ratio | errors');
  for (const [label, d, p] of rows) {
    console.log(
      [
        label,
        d.rps.toFixed(0),
        p.rps.toFixed(0),
        (p.rps / d.rps).toFixed(2),
        `${d.p50.toFixed(2)}/${d.p99.toFixed(2)}`,
        `${p.p50.toFixed(2)}/${p.p99.toFixed(2)}`,
        (p.p50 / d.p50).toFixed(2),
        (p.p99 / d.p99).toFixed(2),
        `${d.errors}/${p.errors}`,
      ].join(' | '),
    );
  }
}

/** Cache-path scenarios (issue 3): a cache miss vs a cache hit, both through the proxy. */
async function extraScenarios(direct: string, viaProxy: string, base: Omit<LoadSpec, 'url' | 'body'>): Promise<Array<[string, LoadResult, LoadResult]>> {
  void direct;
  const headers = { 'x-tollgate-cache': 'on' };
  // Prime one entry, then compare misses (all distinct bodies) with hits (the primed body).
  await runLoad({ ...base, url: viaProxy, requests: 1, concurrency: 1, headers, body: () => chat(-1, false) });
  const miss = await runLoad({ ...base, url: viaProxy, headers, body: (i) => chat(1_000_000 + i, false) });
  const hit = await runLoad({ ...base, url: viaProxy, headers, body: () => chat(-1, false) });
  // Persona generation: distinct lead profiles (misses, each an upstream structured-output call)
  // vs one repeated profile (hits, served from persona_cache / request_log).
  const persona = (lead: number) =>
    JSON.stringify({ email: `bench${lead}@example.com`, leadData: { run: RUN, lead, state: 'CA' }, config: { numPersonas: 3 } });
  const pBase = { ...base, path: '', requests: Math.min(base.requests, 500) };
  const apiUrl = viaProxy.replace(/\/v1$/, '/api/personas/generate');
  await runLoad({ ...pBase, url: apiUrl, requests: 1, concurrency: 1, body: () => persona(-1) });
  const pMiss = await runLoad({ ...pBase, url: apiUrl, body: (i) => persona(1_000_000 + i) });
  const pHit = await runLoad({ ...pBase, url: apiUrl, body: () => persona(-1) });
  return [
    ['cache: /v1 chat miss (left) vs hit (right), both via proxy', miss, hit],
    ['personas: miss (left) vs hit (right)', pMiss, pHit],
  ];
}

// Exit explicitly: an aborted run may leave load workers and their sockets behind.
process.exit(await main());
