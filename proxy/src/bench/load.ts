import { Pool } from 'undici';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
}

export interface LoadSpec {
  url: string;
  path: string;
  concurrency: number;
  requests: number;
  /** Body for request i; a function so callers can make every request distinct (cache misses). */
  body: (i: number) => string;
  headers?: Record<string, string>;
  /** Measure time to the first body byte instead of to the end of the body. */
  ttfb?: boolean;
}

/** Fixed-concurrency closed-loop load over one keep-alive pool; latency in milliseconds. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const origin = new URL(spec.url).origin;
  const basePath = new URL(spec.url).pathname.replace(/\/$/, '');
  const pool = new Pool(origin, { connections: spec.concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  async function worker(): Promise<void> {
    for (;;) {
      const i = next++;
      if (i >= spec.requests) return;
      const t0 = performance.now();
      try {
        const res = await pool.request({
          method: 'POST',
          path: `${basePath}${spec.path}`,
          body: spec.body(i),
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench', ...spec.headers },
        });
        let first: number | undefined;
        for await (const _chunk of res.body) first ??= performance.now();
        const end = performance.now();
        if (res.statusCode >= 400) errors++;
        latencies.push((spec.ttfb ? (first ?? end) : end) - t0);
      } catch {
        errors++;
      }
    }
  }
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { requests: latencies.length, errors, seconds, rps: latencies.length / seconds, p50: pct(50), p99: pct(99) };
}
