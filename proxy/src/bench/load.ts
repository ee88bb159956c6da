import { Pool } from 'undici';

/**
 * The load generator, run in its own process (loadWorker.ts) so its CPU is not the orchestrator's
 * and its numbers are a client's: closed loop, a fixed number of keep-alive connections with one
 * request in flight on each, a warm-up on the same connections before the measured phase.
 */

/** What a request body is made of; a description rather than a function so it crosses processes. */
export interface BodySpec {
  stream: boolean;
  /** In every body, so an earlier run or phase never turns a miss into a hit. */
  tag: string;
  /** Every request sends the very same body (cache hits); otherwise request i says "request i". */
  same?: boolean;
}

export interface LoadSpec {
  /** Base URL, e.g. http://127.0.0.1:8080/v1. */
  url: string;
  /** Appended to the base URL's path. */
  path: string;
  concurrency: number;
  /** Measured phase: ends after this many requests or this long, whichever first (null: no limit). */
  requests: number | null;
  durationMs: number | null;
  /** Same load beforehand, not counted; 0 and 0 (or null) skip it. */
  warmup: { requests: number | null; durationMs: number };
  body: BodySpec;
  headers?: Record<string, string>;
  /** Headers and body-idle timeout of each request. */
  timeoutMs?: number;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  /** Measured requests that got a whole 2xx answer. */
  ok: number;
  /** Measured requests that did not: non-2xx, network error, timeout, cut-short body. */
  errors: number;
  /** Up to five distinct error descriptions (warm-up ones marked), with how often each occurred. */
  errorSamples: Array<{ error: string; count: number }>;
  /** Requests sent in the warm-up (any outcome). */
  warmupRequests: number;
  warmupErrors: number;
  seconds: number;
  /** Whole 2xx answers per second of the measured phase. */
  rps: number;
  /** Milliseconds from sending to the last body byte, of the ok requests. */
  latency: Percentiles;
  /** Milliseconds to the response headers. */
  headers: Percentiles;
  /** Milliseconds to the first body byte (for a stream, the first event). */
  ttfb: Percentiles;
  /** X-Tollgate-Cache values of the measured answers ("none" when absent). */
  cache: Record<string, number>;
}

const SYSTEM = 'You are a concise assistant that explains infrastructure to engineers.';

/** The JSON body of request i: a realistic small chat request. */
export function chatBody(spec: BodySpec, i: number): string {
  const n = spec.same ? 'shared' : String(i);
  return `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"${SYSTEM}"},{"role":"user","content":"benchmark ${spec.tag} request ${n}: what does an API proxy add to each call?"}],"temperature":0.2,"max_tokens":200${spec.stream ? ',"stream":true' : ''}}`;
}

const DONE = Buffer.from('data: [DONE]');

/** Nearest-rank percentiles of a sorted array; NaN when it is empty. */
export function percentiles(sorted: ArrayLike<number>): Percentiles {
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);
  return { p50: at(50), p99: at(99), max: sorted.length ? sorted[sorted.length - 1]! : NaN };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const base = new URL(spec.url);
  const path = `${base.pathname.replace(/\/$/, '')}${spec.path}`;
  const timeout = spec.timeoutMs ?? 60_000;
  const pool = new Pool(base.origin, {
    connections: spec.concurrency,
    pipelining: 1,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    keepAliveTimeout: 60_000,
    connectTimeout: timeout,
  });
  const headers = { 'content-type': 'application/json', authorization: 'Bearer sk-bench', ...spec.headers };
  let next = 0;
  // Error descriptions of both phases, with counts: the report prints them.
  const errorKinds = new Map<string, number>();

  /** One phase: `concurrency` loops, each sending its next request once the last one has ended. */
  async function phase(requests: number | null, durationMs: number | null, tag: string, measured: boolean) {
    const total: number[] = [];
    const toHeaders: number[] = [];
    const toFirstByte: number[] = [];
    const cache: Record<string, number> = {};
    let errors = 0;
    let sent = 0;
    const fail = (what: string) => {
      errors++;
      const kind = measured ? what : `warm-up: ${what}`;
      errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
    };
    const body = { ...spec.body, tag };
    const started = performance.now();
    const deadline = durationMs === null ? Infinity : started + durationMs;
    async function loop(): Promise<void> {
      while ((requests === null || sent < requests) && performance.now() < deadline) {
        sent++;
        const text = chatBody(body, next++);
        const t0 = performance.now();
        try {
          const res = await pool.request({ method: 'POST', path, body: text, headers });
          const th = performance.now();
          let tfb = 0;
          let prev: Buffer | undefined;
          let last: Buffer | undefined;
          const kept: Buffer[] = [];
          const ok = res.statusCode >= 200 && res.statusCode < 300;
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            if (tfb === 0) tfb = performance.now();
            prev = last;
            last = chunk;
            if (!ok && kept.length < 4) kept.push(chunk);
          }
          const end = performance.now();
          if (!ok) {
            fail(`HTTP ${res.statusCode}: ${Buffer.concat(kept).toString('utf8').slice(0, 200)}`);
            continue;
          }
          // A whole answer: a stream ends with [DONE], a JSON body with its closing brace.
          const tail = (prev ? Buffer.concat([prev, last!]) : (last ?? Buffer.alloc(0))).toString('latin1').trimEnd();
          if (spec.body.stream ? !tail.endsWith(DONE.toString('latin1')) : !tail.endsWith('}')) {
            fail(`HTTP ${res.statusCode} but the body was cut short (ends ${JSON.stringify(tail.slice(-40))})`);
            continue;
          }
          if (!measured) continue;
          total.push(end - t0);
          toHeaders.push(th - t0);
          toFirstByte.push((tfb || end) - t0);
          const c = res.headers['x-tollgate-cache'];
          const key = typeof c === 'string' ? c.toUpperCase() : 'none';
          cache[key] = (cache[key] ?? 0) + 1;
        } catch (err) {
          const e = err as Error & { code?: string };
          fail(`${e.code ?? e.name}: ${e.message}`);
        }
      }
    }
    await Promise.all(Array.from({ length: spec.concurrency }, loop));
    const seconds = (performance.now() - started) / 1000;
    return { sent, seconds, total, toHeaders, toFirstByte, cache, errors };
  }

  try {
    const warmupMs = spec.warmup.durationMs;
    const warm = warmupMs > 0 && spec.warmup.requests !== 0 ? await phase(spec.warmup.requests, warmupMs, `${spec.body.tag}.warmup`, false) : undefined;
    const m = await phase(spec.requests, spec.durationMs, spec.body.tag, true);
    const sort = (a: number[]) => Float64Array.from(a).sort();
    return {
      ok: m.total.length,
      errors: m.errors,
      errorSamples: [...errorKinds].slice(0, 5).map(([error, count]) => ({ error, count })),
      warmupRequests: warm?.sent ?? 0,
      warmupErrors: warm?.errors ?? 0,
      seconds: m.seconds,
      rps: m.total.length / m.seconds,
      latency: percentiles(sort(m.total)),
      headers: percentiles(sort(m.toHeaders)),
      ttfb: percentiles(sort(m.toFirstByte)),
      cache: m.cache,
    };
  } finally {
    await pool.destroy();
  }
}
