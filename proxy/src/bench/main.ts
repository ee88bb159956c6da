import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runLoad, type LoadResult, type LoadSpec } from './load.js';

/**
 * `npm run bench`: the fake upstream and the proxy run as child processes (the proxy with call
 * logging on, on DATABASE_URL or its embedded Postgres); this process generates load at a fixed
 * concurrency against each target in turn and prints proxy/direct ratios from the same run.
 */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const MOCK_PORT = Number(process.env.BENCH_MOCK_PORT ?? 18090);
const PROXY_PORT = Number(process.env.BENCH_PROXY_PORT ?? 18080);

const dist = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

function start(script: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [dist(script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

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

async function main(): Promise<void> {
  const mock = start('mock/main.js', { PORT: String(MOCK_PORT) });
  const proxy = start('main.js', {
    PORT: String(PROXY_PORT),
    UPSTREAM_BASE_URL: `http://127.0.0.1:${MOCK_PORT}/v1`,
    LOG_LEVEL: 'warn',
    PGLITE_DATA_DIR: process.env.PGLITE_DATA_DIR ?? `.tollgate/bench-${Date.now()}`,
    PGLITE_PORT: '0',
  });
  try {
    await waitFor(`http://127.0.0.1:${MOCK_PORT}/v1/models`);
    await waitFor(`http://127.0.0.1:${PROXY_PORT}/readyz`);
    const direct = `http://127.0.0.1:${MOCK_PORT}/v1`;
    const viaProxy = `http://127.0.0.1:${PROXY_PORT}/v1`;
    const base: Omit<LoadSpec, 'url' | 'body'> = { path: '/chat/completions', concurrency: CONCURRENCY, requests: REQUESTS };
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

    console.log(`\nTollgate bench: ${REQUESTS} requests per row, concurrency ${CONCURRENCY}, logging on`);
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
  } finally {
    proxy.kill('SIGTERM');
    mock.kill('SIGTERM');
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

await main();
