import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The BENCH_* variables `npm run bench` reads (the README's benchmark section lists them). */
export interface BenchSettings {
  concurrency: number;
  requests: number;
  /** 0: the child picks a free port and reports it. */
  mockPort: number;
  proxyPort: number;
}

export class BenchConfigError extends Error {}

/**
 * Parses the BENCH_* variables; a bad value fails with one line per offending variable (the
 * caller exits 2, as the proxy does for its own configuration). Empty means unset, as for the proxy.
 * Strict digits only: Number() would take "1e3", "0x10" or " 16 " and a typo would pass silently.
 */
export function benchSettings(env: NodeJS.ProcessEnv): BenchSettings {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number, what: string): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const v = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      problems.push(`  ${name}=${JSON.stringify(raw)}: expected ${what}`);
      return fallback;
    }
    return v;
  };
  const positive = 'a positive integer';
  const port = 'a port number (0-65535; 0 = any free port)';
  const settings: BenchSettings = {
    concurrency: int('BENCH_CONCURRENCY', 16, 1, 10_000, `${positive} (at most 10000)`),
    requests: int('BENCH_REQUESTS', 2000, 1, Number.MAX_SAFE_INTEGER, positive),
    mockPort: int('BENCH_MOCK_PORT', 0, 0, 65535, port),
    proxyPort: int('BENCH_PROXY_PORT', 0, 0, 65535, port),
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
