import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** The BENCH_* variables `npm run bench` reads (main.ts and the README's benchmark section list them). */
export interface BenchSettings {
  /** Keep-alive connections, one request in flight on each (closed loop). */
  concurrency: number;
  /** Seconds each measured phase lasts (it also ends at `requests`). */
  durationS: number;
  /** Seconds of the same load before each measured phase, not counted (0: none). */
  warmupS: number;
  /** Requests per measured phase and per warm-up, at most; null: only the duration counts. */
  requests: number | null;
  /** How many times each scenario runs its targets back to back; the report takes the median. */
  rounds: number;
  /** Delay between two SSE events of the fast upstream in the streamed scenario (0: all in one write). */
  streamChunkDelayMs: number;
  /** Concurrent streams of the "many slow streams" scenario; 0 skips it. */
  streams: number;
  /** Delay between two SSE events in that scenario, so each stream lasts a few seconds. */
  slowChunkDelayMs: number;
  /** 0: the child picks a free port and reports it. */
  upstreamPort: number;
  rawPort: number;
  proxyPort: number;
  /** Where to write the results as JSON (absolute); null: nowhere. */
  jsonPath: string | null;
}

export class BenchConfigError extends Error {}

/**
 * Parses the BENCH_* variables; a bad value fails with one line per offending variable (the
 * caller exits 2, as the proxy does for its own configuration). Empty means unset, as for the proxy.
 * Strict digits only: Number() would take "1e3", "0x10" or " 16 " and a typo would pass silently.
 */
export function benchSettings(env: NodeJS.ProcessEnv, cwd = process.cwd()): BenchSettings {
  const problems: string[] = [];
  const set = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw;
  };
  const int = (name: string, fallback: number, min: number, max: number, what: string): number => {
    const raw = set(name);
    if (raw === undefined) return fallback;
    const v = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      problems.push(`  ${name}=${JSON.stringify(raw)}: expected ${what}`);
      return fallback;
    }
    return v;
  };
  const positive = 'a positive integer';
  const port = 'a port number (0-65535; 0 = any free port)';
  const delay = 'a delay in milliseconds (0-10000)';
  const requests = set('BENCH_REQUESTS') === undefined ? null : int('BENCH_REQUESTS', 0, 1, Number.MAX_SAFE_INTEGER, positive);
  const json = set('BENCH_JSON');
  const settings: BenchSettings = {
    concurrency: int('BENCH_CONCURRENCY', 32, 1, 10_000, `${positive} (at most 10000)`),
    durationS: int('BENCH_DURATION_S', 3, 1, 3600, `${positive} (seconds, at most 3600)`),
    warmupS: int('BENCH_WARMUP_S', 1, 0, 600, 'a whole number of seconds (0-600)'),
    requests,
    rounds: int('BENCH_ROUNDS', 3, 1, 100, `${positive} (at most 100)`),
    streamChunkDelayMs: int('BENCH_STREAM_CHUNK_DELAY_MS', 0, 0, 10_000, delay),
    streams: int('BENCH_STREAMS', 1000, 0, 10_000, 'a number of streams (0-10000; 0 skips the scenario)'),
    slowChunkDelayMs: int('BENCH_SLOW_CHUNK_DELAY_MS', 300, 0, 10_000, delay),
    upstreamPort: int('BENCH_UPSTREAM_PORT', 0, 0, 65535, port),
    rawPort: int('BENCH_RAW_PORT', 0, 0, 65535, port),
    proxyPort: int('BENCH_PROXY_PORT', 0, 0, 65535, port),
    jsonPath: json === undefined ? null : isAbsolute(json) ? json : resolve(cwd, json),
  };
  if (problems.length) throw new BenchConfigError(`Invalid benchmark settings:\n${problems.join('\n')}`);
  return settings;
}

export interface BenchDataDir {
  /** PGLITE_DATA_DIR for the proxy child; undefined leaves the caller's own setting alone. */
  dir: string | undefined;
  /** Removes the folder if this run made it; the caller's own PGLITE_DATA_DIR is never removed. */
  remove(): void;
}

/**
 * Where the proxy child keeps its embedded Postgres. Each run needs a fresh one (an old one holds
 * earlier cache entries) and it is ~45 MB, so it goes to the OS temp folder and is removed after
 * the run. The proxy's config has no in-memory option: PGLITE_DATA_DIR always has a default.
 * With DATABASE_URL the embedded Postgres does not start, so no folder is made.
 */
export function benchDataDir(env: NodeJS.ProcessEnv): BenchDataDir {
  if (env.DATABASE_URL?.trim() || env.PGLITE_DATA_DIR?.trim()) return { dir: undefined, remove: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
