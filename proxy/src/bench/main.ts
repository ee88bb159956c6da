import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { ConfigError, loadConfig } from '../config.js';
import { startChild, stopChild, type Child } from './children.js';
import { CpuMeter } from './cpu.js';
import type { LoadResult, LoadSpec } from './load.js';
import type { WorkerReply, WorkerRequest } from './loadWorker.js';
import {
  TARGETS,
  ratioLines,
  scenarioTable,
  slowStreamsTable,
  summarize,
  type ScenarioRuns,
  type ScenarioSummary,
  type SlowStreamsRun,
  type Target,
  type TargetRun,
} from './report.js';
import { BenchConfigError, benchDataDir, benchSettings, type BenchSettings } from './settings.js';

/**
 * `npm run bench`: what a client of Tollgate sees, next to a ceiling and a floor measured in the
 * same run, on the same cores.
 *
 * Child processes, so that nothing measures itself:
 * - the fast upstream (upstream.ts): canned chat completions in microseconds;
 * - a raw pass-through (rawPassthrough.ts): node:http piping to the upstream, the floor;
 * - with DATABASE_URL, a logging pass-through (loggingPassthrough.ts): the least a proxy that writes
 *   Tollgate's call log does (parse, forward, one row per call COPY'd in batches), the floor of
 *   any proxy that logs;
 * - Tollgate (main.js) pointed at the upstream, with its call log on DATABASE_URL or a fresh
 *   embedded Postgres in a temporary folder, and /metrics on;
 * - the load generator (loadWorker.ts): closed loop, BENCH_CONCURRENCY keep-alive connections,
 *   a warm-up on the same connections before each measured phase.
 * This process only starts them, sequences the phases and reports. Should it die without stopping
 * them, they stop by themselves (orphanGuard.ts).
 *
 * Scenarios; within a round each target runs right after the other (the order rotates from round
 * to round), BENCH_ROUNDS rounds, medians reported; ratios are taken round by round:
 * - chat, JSON: direct / raw / tollgate, every body unique to this run (each Tollgate call a
 *   miss, checked against the upstream's own count of the calls it answered);
 * - chat, SSE stream: the same with "stream":true, plus time to first byte;
 * - cache hit: raw / tollgate, one body with `X-Tollgate-Cache: on`, stored by a first call;
 *   every measured Tollgate answer must say `X-Tollgate-Cache: HIT`;
 * - many slow streams: BENCH_STREAMS streams at once, one SSE write every BENCH_SLOW_CHUNK_DELAY_MS,
 *   through raw (reference) then Tollgate: completed, failed, time to headers, Tollgate's RSS.
 * Every request carries `Authorization: Bearer sk-bench` (the upstream refuses others).
 *
 * Environment (validated: a bad value exits 2 before anything starts; empty means unset):
 *   BENCH_CONCURRENCY            32    connections, one request in flight on each (1-10000)
 *   BENCH_DURATION_S             3     seconds per measured phase
 *   BENCH_WARMUP_S               1     seconds of warm-up before each measured phase (0: none)
 *   BENCH_REQUESTS               -     also end each phase (and warm-up) after this many requests
 *   BENCH_ROUNDS                 3     rounds per scenario
 *   BENCH_STREAM_CHUNK_DELAY_MS  0     upstream delay between SSE writes in the streamed scenario
 *   BENCH_STREAMS                1000  concurrent streams of the slow-streams scenario (0 skips it)
 *   BENCH_SLOW_CHUNK_DELAY_MS    300   delay between their writes (9 delays: ~2.7 s a stream)
 *   BENCH_UPSTREAM_PORT, BENCH_RAW_PORT, BENCH_PROXY_PORT   0 (any free port)
 *   BENCH_JSON                   -     write the results there as JSON too
 *   DATABASE_URL / PGLITE_DATA_DIR    Tollgate's database (default: a temporary embedded one)
 * UPSTREAM_CONNECTIONS, when unset, is left at Tollgate's default unless that default is a cap
 * below max(BENCH_STREAMS, BENCH_CONCURRENCY): then it is raised to that, and the report says so.
 *
 * Exit code: 0; 1 when any request failed, a check failed (a miss that was not one, a hit that
 * was not one, call-log rows missing) or a child died; 2 for bad settings; 130 when interrupted.
 */
const dist = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

// Every body carries this run's id: a database kept between runs (DATABASE_URL) still holds the
// last run's cache entries, and a miss must really be one.
const RUN = Date.now().toString(36);

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

/** The load generator's process; one spec at a time. */
class LoadWorker {
  private readonly proc: ChildProcess;
  private readonly pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private stopping = false;
  private readonly exited: Promise<void>;

  constructor(onCrash: (err: Error) => void) {
    this.proc = fork(dist('bench/loadWorker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (msg: WorkerReply) => {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if ('result' in msg) p?.resolve(msg.result);
      else p?.reject(new Error(`the load generator failed: ${msg.error}`));
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        const err = new Error(`the load generator (loadWorker.js) exited (${signal ? `signal ${signal}` : `exit code ${code}`})`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (!this.stopping) onCrash(err);
        resolve();
      });
    });
  }

  run(spec: LoadSpec): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const id = ++this.seq;
      this.pending.set(id, { resolve, reject });
      this.proc.send({ id, spec } satisfies WorkerRequest);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(killer);
  }
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

interface UpstreamStats {
  requests: number;
  streams: number;
  inflight: number;
  maxInflight: number;
}

/** The fast upstream's own control calls (never proxied). */
function upstreamControl(origin: string) {
  const call = async (method: string, path: string): Promise<UpstreamStats> => {
    const r = await fetch(`${origin}/_bench/${path}`, { method });
    if (!r.ok) throw new Error(`the bench upstream answered ${r.status} to ${method} /_bench/${path}: ${await r.text()}`);
    return (await r.json()) as UpstreamStats;
  };
  return {
    stats: () => call('GET', 'stats'),
    resetPeak: () => call('POST', 'reset-peak'),
    chunkDelay: (ms: number) => call('POST', `chunk-delay?ms=${ms}`),
  };
}

/** VmRSS and VmHWM of a process in MB (Linux /proc); undefined elsewhere. */
function memory(pid: number | undefined): { rss: number; hwm: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * UPSTREAM_CONNECTIONS for the Tollgate child. Its configuration once capped upstream connections
 * at 128 by default, which queues streams beyond it: if it still reads the variable and its
 * default is a cap below what this run keeps in flight, the bench raises it (and says so);
 * otherwise (no cap by default, or no such variable any more) it leaves Tollgate's default alone.
 */
function upstreamConnections(env: NodeJS.ProcessEnv, needed: number): { value?: string; note: string } {
  const name = 'UPSTREAM_CONNECTIONS';
  if (env[name]?.trim()) return { note: `${name}=${env[name]} (yours)` };
  // A variable the configuration reads is refused by name when its value is unusable.
  let reads = false;
  try {
    loadConfig({ [name]: 'not-a-valid-value' });
  } catch (err) {
    reads = err instanceof ConfigError && err.message.includes(`${name}=`);
  }
  if (!reads) return { note: `${name} not set (Tollgate's configuration no longer reads it)` };
  let fallback: unknown;
  try {
    fallback = (loadConfig({}) as unknown as Record<string, unknown>)[name];
  } catch {
    /* no usable default: leave it */
  }
  if (typeof fallback === 'number' && fallback > 0 && fallback < needed) {
    return { value: String(needed), note: `${name}=${needed} (set by the bench: Tollgate's default caps upstream connections at ${fallback})` };
  }
  return { note: `${name} left at Tollgate's default (${String(fallback)}${fallback === 0 ? ': no cap' : ''})` };
}

/** A counter from Tollgate's /metrics; undefined when it has no such metric (or metrics are off). */
async function counter(origin: string, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${origin}/metrics`)).text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function describeDatabase(env: NodeJS.ProcessEnv, dataDir: string | undefined): string {
  const url = env.DATABASE_URL?.trim();
  if (url) {
    try {
      const u = new URL(url);
      u.password = '';
      return `DATABASE_URL ${u.toString()}`;
    } catch {
      return 'DATABASE_URL';
    }
  }
  return dataDir ? 'embedded PGlite in a temporary folder' : `embedded PGlite in ${env.PGLITE_DATA_DIR}`;
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
  let worker: LoadWorker | undefined;
  let meterDb: pg.Pool | undefined;
  const data = benchDataDir(process.env);
  const spawnChild = (name: string, script: string, timeoutMs: number, env: Record<string, string>) => {
    const child = startChild({
      name,
      // The guard stops the child should this process die without stopping it.
      args: ['--import', pathToFileURL(dist('bench/orphanGuard.js')).href, dist(script)],
      // Loopback only: the bench servers have no business on the network, and a port held by
      // another process on any interface still makes the bind fail.
      env: { ...process.env, HOST: '127.0.0.1', ...env },
      listening: /(?:listening on|Tollgate proxy on) (http:\/\/\S+)/,
      timeoutMs,
      onCrash: (err) => abort.fail(err),
    });
    children.push(child);
    return child;
  };
  const connections = upstreamConnections(process.env, Math.max(settings.streams, settings.concurrency));
  const cap = connections.note;
  const tollgateEnv: Record<string, string> = {
    PGLITE_PORT: '0',
    METRICS_ENABLED: 'true',
    ...(data.dir ? { PGLITE_DATA_DIR: data.dir, BENCH_ORPHAN_REMOVE_DIR: data.dir } : {}),
    ...(connections.value ? { UPSTREAM_CONNECTIONS: connections.value } : {}),
  };
  try {
    const upstream = spawnChild('the bench upstream (bench/upstream.js)', 'bench/upstream.js', 30_000, {
      PORT: String(settings.upstreamPort),
      BENCH_STREAM_CHUNK_DELAY_MS: String(settings.streamChunkDelayMs),
    });
    const direct = `http://127.0.0.1:${(await abort.race(upstream.ready)).port}/v1`;
    const raw = spawnChild('the raw pass-through (bench/rawPassthrough.js)', 'bench/rawPassthrough.js', 30_000, {
      PORT: String(settings.rawPort),
      UPSTREAM_URL: direct,
    });
    const proxy = spawnChild('the proxy (main.js)', 'main.js', 120_000, { ...tollgateEnv, PORT: String(settings.proxyPort), UPSTREAM_BASE_URL: direct, PGAPPNAME: APP_NAMES.tollgate });
    const viaRaw = `http://127.0.0.1:${(await abort.race(raw.ready)).port}/v1`;
    // It prints the address as localhost, which may resolve to ::1; it listens on 127.0.0.1.
    const viaProxy = `http://127.0.0.1:${(await abort.race(proxy.ready)).port}/v1`;
    await abort.race(waitFor(viaProxy.replace(/\/v1$/, '/readyz')));
    worker = new LoadWorker((err) => abort.fail(err));
    const urls: Partial<Record<Target, string>> = { direct, raw: viaRaw, tollgate: viaProxy };
    const pids: Partial<Record<Target, number>> = { direct: upstream.proc.pid, raw: raw.proc.pid, tollgate: proxy.proc.pid };
    // After Tollgate is ready: its migrations made the table this one writes to.
    if (process.env.DATABASE_URL) {
      const logging = spawnChild('the logging pass-through (bench/loggingPassthrough.js)', 'bench/loggingPassthrough.js', 30_000, {
        PORT: '0',
        UPSTREAM_URL: direct,
        PGAPPNAME: APP_NAMES.logging,
      });
      urls.logging = `http://127.0.0.1:${(await abort.race(logging.ready)).port}/v1`;
      pids.logging = logging.proc.pid;
    }
    meterDb = process.env.DATABASE_URL ? new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 }) : undefined;
    const ok = await abort.race(measure(settings, urls, pids, new CpuMeter(meterDb), abort, worker, cap, describeDatabase(process.env, data.dir)));
    return ok ? 0 : 1;
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    return abort.interrupted ? 130 : 1;
  } finally {
    await worker?.stop();
    await meterDb?.end().catch(() => undefined);
    // The proxy first: it flushes its call log and closes the embedded Postgres before the folder goes.
    for (const child of [...children].reverse()) await stopChild(child, 20_000);
    data.remove();
  }
}

interface ScenarioDef {
  id: string;
  label: string;
  stream: boolean;
  targets: Target[];
  headers?: Record<string, string>;
  /** One body for every request (cache hits). */
  same?: boolean;
}

/** Runs every scenario, prints the report; false when a request or a check failed. */
async function measure(
  settings: BenchSettings,
  urls: Partial<Record<Target, string>>,
  pids: Partial<Record<Target, number>>,
  meter: CpuMeter,
  abort: Abort,
  worker: LoadWorker,
  cap: string,
  database: string,
): Promise<boolean> {
  const up = upstreamControl(new URL(urls.direct!).origin);
  const targets = TARGETS.filter((t) => urls[t]);
  let loggingSent = 0;
  const failures: string[] = [];
  let tollgateSent = 0;
  const phase = { requests: settings.requests, durationMs: settings.durationS * 1000 };
  const warmup = { requests: settings.requests, durationMs: settings.warmupS * 1000 };
  const spec = (target: Target, body: LoadSpec['body'], extra: Partial<LoadSpec> = {}): LoadSpec => ({
    url: urls[target]!,
    path: '/chat/completions',
    concurrency: settings.concurrency,
    ...phase,
    warmup,
    body,
    ...extra,
  });
  /** One load run against one target, with the chat calls the upstream answered meanwhile. */
  const run = async (target: Target, s: LoadSpec): Promise<TargetRun> => {
    const before = await up.stats();
    const cpuBefore = await meter.sample(pids[target], appName(target));
    const result = await abort.race(worker.run(s));
    const cpuAfter = await meter.sample(pids[target], appName(target));
    const after = await up.stats();
    if (target === 'tollgate') tollgateSent += result.warmupRequests + result.ok + result.errors;
    if (target === 'logging') loggingSent += result.warmupRequests + result.ok + result.errors;
    const cpu = CpuMeter.perRequest(cpuBefore, cpuAfter, result.warmupRequests + result.ok + result.errors);
    return { ...result, upstreamCalls: after.requests - before.requests, cpu };
  };
  const once = { requests: 1, durationMs: null, concurrency: 1, warmup: { requests: 0, durationMs: 0 } };

  console.log(
    `Tollgate bench, run ${RUN}: ${settings.rounds} round(s) of ${settings.durationS} s per target${settings.requests ? ` (or ${settings.requests} requests)` : ''}, ` +
      `after ${settings.warmupS} s of warm-up, concurrency ${settings.concurrency}, call logging and metrics on`,
  );
  console.log(`upstream ${urls.direct}  raw pass-through ${urls.raw}${urls.logging ? `  logging pass-through ${urls.logging}` : ''}  Tollgate ${urls.tollgate}`);
  if (!urls.logging) console.log('No logging pass-through: it writes with COPY to DATABASE_URL, and none is set');
  console.log(`Tollgate database: ${database}; ${cap}`);
  // Everything here shares the machine's cores: other work running meanwhile skews every number.
  const busyBefore = loadavg()[0]!;
  if (busyBefore > cpus().length / 2) {
    console.log(`Note: the machine was already busy (1-minute load average ${busyBefore.toFixed(1)} on ${cpus().length} cores): expect noisy numbers`);
  }

  // Each target answers a JSON and a streamed call before anything is measured.
  for (const target of targets) {
    for (const stream of [false, true]) {
      const r = await run(target, spec(target, { stream, tag: `${RUN}.check` }, once));
      if (r.ok !== 1)
        throw new Error(
          `${target} (${urls[target]}) did not answer a ${stream ? 'streamed' : 'JSON'} chat completion: ${r.errorSamples.map((e) => e.error).join('; ')}`,
        );
    }
  }

  const defs: ScenarioDef[] = [
    { id: 'chat-json', label: 'chat, JSON', stream: false, targets },
    { id: 'chat-sse', label: 'chat, SSE stream', stream: true, targets },
    { id: 'cache-hit', label: 'chat, JSON, cache hit', stream: false, targets: ['raw', 'tollgate'], headers: { 'x-tollgate-cache': 'on' }, same: true },
  ];
  const scenarios: ScenarioRuns[] = [];
  for (const def of defs) {
    const runs: ScenarioRuns = { id: def.id, label: def.label, stream: def.stream, targets: def.targets, rounds: [] };
    scenarios.push(runs);
    if (def.same) {
      // The entry every later call hits: stored by this first call.
      const prime = await run('tollgate', spec('tollgate', { stream: false, tag: `${RUN}.${def.id}`, same: true }, { ...once, headers: def.headers }));
      if (prime.ok !== 1) failures.push(`${def.label}: the call that stores the cache entry failed: ${prime.errorSamples.map((e) => e.error).join('; ')}`);
    }
    for (let round = 0; round < settings.rounds; round++) {
      const results: Partial<Record<Target, TargetRun>> = {};
      // Rotate the order so no target always runs right after another's leftovers (a call-log flush).
      const order = def.targets.map((_, i) => def.targets[(i + round) % def.targets.length]!);
      for (const target of order) {
        const tag = def.same ? `${RUN}.${def.id}` : `${RUN}.${def.id}.${target}.r${round + 1}`;
        const r = await run(target, spec(target, { stream: def.stream, tag, same: def.same }, { headers: def.headers }));
        results[target] = r;
        for (const e of r.errorSamples) failures.push(`${def.label}, ${target}, round ${round + 1}: ${e.count} x ${e.error}`);
        if (target === 'tollgate') checkTollgate(def, r, round, failures);
      }
      runs.rounds.push(results);
      console.log(
        `  ${def.label}, round ${round + 1}/${settings.rounds}: ` +
          def.targets.map((t) => `${t} ${results[t]!.rps.toFixed(0)} req/s (p99 ${results[t]!.latency.p99.toFixed(1)} ms)`).join(', '),
      );
    }
  }
  const summaries = scenarios.map(summarize);

  let slow: SlowStreamsRun[] | null = null;
  if (settings.streams > 0) {
    slow = [];
    const n = settings.streams;
    console.log(`  many slow streams: ${n} at once, ${settings.slowChunkDelayMs} ms between SSE writes...`);
    await up.chunkDelay(settings.slowChunkDelayMs);
    for (const target of ['raw', 'tollgate'] as const) {
      await up.resetPeak();
      const mem = target === 'tollgate' ? memory(pids.tollgate) : undefined;
      let peak = mem?.rss ?? NaN;
      const sampler = setInterval(() => {
        const m = target === 'tollgate' ? memory(pids.tollgate) : undefined;
        if (m && !(m.rss <= peak)) peak = m.rss;
      }, 100);
      let r: TargetRun;
      try {
        r = await run(
          target,
          spec(
            target,
            { stream: true, tag: `${RUN}.streams.${target}` },
            { concurrency: n, requests: n, durationMs: null, warmup: { requests: 0, durationMs: 0 }, timeoutMs: 120_000 },
          ),
        );
      } finally {
        clearInterval(sampler);
      }
      const stats = await up.stats();
      const end = target === 'tollgate' ? memory(pids.tollgate) : undefined;
      slow.push({
        target,
        streams: n,
        completed: r.ok,
        failed: r.errors,
        errorSamples: r.errorSamples,
        maxHeadersMs: r.headers.max,
        p50HeadersMs: r.headers.p50,
        p50DurationMs: r.latency.p50,
        maxDurationMs: r.latency.max,
        seconds: r.seconds,
        upstreamPeakInFlight: stats.maxInflight,
        ...(mem && end ? { rssBeforeMb: mem.rss, rssPeakSampledMb: Math.max(peak, end.rss), rssHighWaterMb: end.hwm } : {}),
      });
      for (const e of r.errorSamples) failures.push(`many slow streams, ${target}: ${e.count} x ${e.error}`);
    }
    await up.chunkDelay(settings.streamChunkDelayMs);
  }

  // Every Tollgate call is a call-log row; they are written in batches, so give the last one time.
  const origin = new URL(urls.tollgate!).origin;
  let written = await counter(origin, 'tollgate_call_log_written_total');
  for (let i = 0; i < 50 && written !== undefined && written < tollgateSent; i++) {
    await new Promise((r) => setTimeout(r, 200));
    written = await counter(origin, 'tollgate_call_log_written_total');
  }
  const dropped = await counter(origin, 'tollgate_call_log_dropped_total');
  const callLog = { expected: tollgateSent, written: written ?? null, dropped: dropped ?? null };
  if (written !== undefined && written < tollgateSent) failures.push(`call log: ${written} rows written for ${tollgateSent} calls to Tollgate`);
  if (dropped) failures.push(`call log: ${dropped} rows dropped (tollgate_call_log_dropped_total)`);
  // The logging pass-through is a floor only if it wrote what it was sent.
  if (urls.logging) {
    const stats = `${new URL(urls.logging).origin}/_logging/stats`;
    let s = await loggingStats(stats);
    for (let i = 0; i < 50 && s.written + s.lost < loggingSent; i++) {
      await new Promise((r) => setTimeout(r, 200));
      s = await loggingStats(stats);
    }
    if (s.written < loggingSent) failures.push(`logging pass-through: ${s.written} rows written for ${loggingSent} calls (${s.lost} lost in failed batches)`);
  }
  const hwm = memory(pids.tollgate)?.hwm;

  console.log('');
  console.log(scenarioTable(summaries));
  console.log('');
  console.log('Ratios (round by round, median [min..max]):');
  for (const line of ratioLines(summaries)) console.log(line);
  if (slow) {
    console.log('');
    console.log(`Many slow streams: ${settings.streams} concurrent streams, ${settings.slowChunkDelayMs} ms between SSE writes; ${cap}`);
    console.log(slowStreamsTable(slow));
  }
  console.log('');
  console.log(
    `Call log: ${written ?? 'n/a (no tollgate_call_log_written_total in /metrics)'} rows written for ${tollgateSent} calls to Tollgate, ` +
      `${dropped ?? 'n/a'} dropped. Tollgate peak RSS (VmHWM): ${hwm === undefined ? 'n/a' : `${hwm.toFixed(0)} MB`}`,
  );
  if (failures.length) {
    console.log(`\nFAILED: ${failures.length} problem(s):`);
    for (const f of failures) console.log(`  ${f}`);
  }

  if (settings.jsonPath) {
    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: process.platform,
      release: release(),
      loadAverageBefore: busyBefore,
    };
    const json = {
      schema: 'tollgate-bench/1',
      run: RUN,
      date: new Date().toISOString(),
      machine,
      settings,
      database,
      upstreamConnections: cap,
      scenarios: summaries.map((s, i) => ({ ...s, rounds: scenarios[i]!.rounds })),
      slowStreams: slow,
      callLog,
      tollgatePeakRssMb: hwm ?? null,
      failures,
      ok: failures.length === 0,
    };
    writeFileSync(settings.jsonPath, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`\nResults as JSON: ${settings.jsonPath}`);
  }
  return failures.length === 0;
}

/** The Postgres application_name of the targets that write to it, to find their backends. */
const APP_NAMES = { logging: 'bench-logging-passthrough', tollgate: 'bench-tollgate' } as const;
const appName = (t: Target): string | undefined => (t === 'logging' || t === 'tollgate' ? APP_NAMES[t] : undefined);

async function loggingStats(url: string): Promise<{ written: number; lost: number }> {
  return (await (await fetch(url)).json()) as { written: number; lost: number };
}

/** What a Tollgate phase must show to measure what its scenario says it measures. */
function checkTollgate(def: ScenarioDef, r: TargetRun, round: number, failures: string[]): void {
  const where = `${def.label}, tollgate, round ${round + 1}`;
  if (def.same) {
    const hits = r.cache['HIT'] ?? 0;
    if (hits !== r.ok) failures.push(`${where}: ${r.ok - hits} of ${r.ok} answers were not cache hits (X-Tollgate-Cache: ${JSON.stringify(r.cache)})`);
    return;
  }
  // A miss scenario: each call Tollgate answered must have gone upstream once.
  const sent = r.warmupRequests + r.ok + r.errors;
  if (r.upstreamCalls < sent - r.errors - r.warmupErrors) {
    failures.push(`${where}: only ${r.upstreamCalls} of ${sent} calls reached the upstream (cached or coalesced): the scenario is meant to be all misses`);
  }
}

// Exit explicitly: an aborted run may leave sockets behind.
process.exit(await main());
