import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { costUsd, loadPriceTable, type PriceTable } from '../pricing/cost.js';
import type { Usage } from '../usage/types.js';
import { createRng, type Rng } from './random.js';
import { DEMO_TENANTS } from './tenants.js';

/**
 * `npm run demo:traffic`: a realistic mix of calls through the proxy, with the official openai
 * SDK and plain HTTP: persona generations over a small set of lead profiles (cache hits), exact
 * duplicates and Idempotency-Key retries (replays), concurrent duplicates (coalescing), streamed
 * chats, cache-enabled completions, embeddings, responses, and, against the fake upstream only,
 * upstream errors and client aborts, across several tenants and models.
 */

export const SCENARIOS = [
  'persona', 'chat', 'cachedChat', 'duplicate', 'retry', 'concurrent', 'stream', 'apiStream', 'embeddings', 'responses', 'error', 'abort',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

const WEIGHTS: Record<Scenario, number> = {
  persona: 20, chat: 12, cachedChat: 12, duplicate: 6, retry: 7, concurrent: 5, stream: 11, apiStream: 5, embeddings: 12, responses: 4,
  error: 3, abort: 3,
};
/** Scenarios that rely on the fake upstream's x-mock-* headers. */
const FAULT_SCENARIOS = new Set<Scenario>(['error', 'abort']);

export interface TrafficOptions {
  /** The proxy's root URL, e.g. http://localhost:8080 (no /v1). */
  proxyUrl: string;
  /** Scenarios started per second, on average (Poisson arrivals). */
  rate: number;
  /** Stop after this long; 0 runs until `signal` aborts. */
  durationMs: number;
  /** At most this many scenarios in flight; arrivals beyond it are counted as dropped. */
  concurrency?: number;
  /** Callers' API keys, one tenant each; '' sends no key (the proxy's OPENAI_API_KEY is used). */
  tenants?: string[];
  /** Include the scenarios that need the fake upstream (errors, aborts). */
  faults?: boolean;
  /** Only these scenarios (default: all that apply). */
  only?: Scenario[];
  seed?: number | string;
  signal?: AbortSignal;
  progressEveryMs?: number;
  log?: (line: string) => void;
  prices?: PriceTable;
}

export interface TrafficSummary {
  scenarios: number;
  dropped: number;
  /** HTTP requests sent to the proxy. */
  calls: number;
  ok: number;
  /** Answers with an HTTP error status (the injected upstream errors among them). */
  httpErrors: number;
  /** Requests that got no answer at all (connection refused, timeout); aborts not included. */
  failures: number;
  aborted: number;
  /** Served from Tollgate's caches (X-Tollgate-Cache: HIT), replays not included. */
  hits: number;
  /** Idempotent replays (Idempotent-Replayed: true, or fromIdempotentCache for personas). */
  replays: number;
  /** Estimated from the usage in the answers and the proxy's price table. */
  costUsd: number;
  savedUsd: number;
  byScenario: Partial<Record<Scenario, number>>;
  byStatus: Record<string, number>;
  /** The first few unexpected failures, for the summary. */
  failureSamples: string[];
  elapsedMs: number;
}

const FAQ = [
  'How do I reset my password?', 'What are your support hours?', 'Can I change my billing date?', 'How do I export my data?',
  'Do you offer a nonprofit discount?', 'How do I add a teammate?', 'Where can I download invoices?', 'How do I cancel my plan?',
  'Is there an API rate limit?', 'How do I enable two-factor authentication?',
];
const TOPICS = ['renewal reminder', 'quote follow-up', 'welcome email', 'win-back offer', 'policy summary', 'call notes', 'meeting recap'];
const DOCS = Array.from({ length: 24 }, (_, i) => `Knowledge base article ${i + 1}: ${TOPICS[i % TOPICS.length]} guidance for agents, section ${i % 5}.`);
const LEADS = [
  { age: 35, state: 'CA', interest: 'term life', household: 3 },
  { age: 52, state: 'TX', interest: 'medicare supplement', household: 2 },
  { age: 28, state: 'NY', interest: 'renters', household: 1 },
  { age: 44, state: 'FL', interest: 'home and auto', household: 5 },
  { age: 61, state: 'OH', interest: 'annuity', household: 2 },
  { age: 39, state: 'WA', interest: 'small business', household: 4 },
];
const CHAT_MODELS = [['gpt-4o-mini', 6], ['gpt-4.1-mini', 2], ['gpt-4o', 1.5], ['gpt-4.1-nano', 1]] as const;

interface Observation {
  status: number;
  headers: Headers;
  model?: string;
  usage?: Usage;
  /** Personas: the body says it is a replay. */
  replayed?: boolean;
}

class Stats {
  readonly s: TrafficSummary = {
    scenarios: 0, dropped: 0, calls: 0, ok: 0, httpErrors: 0, failures: 0, aborted: 0, hits: 0, replays: 0,
    costUsd: 0, savedUsd: 0, byScenario: {}, byStatus: {}, failureSamples: [], elapsedMs: 0,
  };
  constructor(private readonly prices: PriceTable) {}

  observe(o: Observation): void {
    const s = this.s;
    s.calls++;
    s.byStatus[String(o.status)] = (s.byStatus[String(o.status)] ?? 0) + 1;
    if (o.status >= 400) {
      s.httpErrors++;
      return;
    }
    s.ok++;
    const replayed = o.replayed || o.headers.get('idempotent-replayed') === 'true';
    const hit = !replayed && o.headers.get('x-tollgate-cache')?.toUpperCase() === 'HIT';
    if (replayed) s.replays++;
    else if (hit) s.hits++;
    const cost = o.usage && o.model ? (costUsd(this.prices, o.model, o.usage) ?? 0) : 0;
    if (replayed || hit) s.savedUsd += cost;
    else s.costUsd += cost;
  }

  failed(err: unknown): void {
    this.s.calls++;
    this.s.failures++;
    if (this.s.failureSamples.length < 5) this.s.failureSamples.push((err as Error).message ?? String(err));
  }

  aborted(): void {
    this.s.calls++;
    this.s.aborted++;
  }
}

function chatUsage(u: OpenAI.CompletionUsage | null | undefined): Usage | undefined {
  if (!u) return undefined;
  return {
    promptTokens: u.prompt_tokens,
    completionTokens: u.completion_tokens,
    cachedTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
    reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
    totalTokens: u.total_tokens,
    source: 'reported',
  };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export async function runTraffic(opts: TrafficOptions): Promise<TrafficSummary> {
  const base = opts.proxyUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
  const rng = createRng(opts.seed ?? Date.now());
  const stats = new Stats(opts.prices ?? loadPriceTable());
  const log = opts.log ?? ((line: string) => console.log(line));
  const tenants = opts.tenants?.length ? opts.tenants : DEMO_TENANTS.map((t) => t.key);
  const faults = opts.faults ?? true;
  const enabled = SCENARIOS.filter((s) => (opts.only ? opts.only.includes(s) : true) && (faults || !FAULT_SCENARIOS.has(s)));
  if (enabled.length === 0) throw new Error('no traffic scenario left to run');
  const weighted = enabled.map((s) => [s, WEIGHTS[s]] as const);
  const clients = new Map(
    tenants.map((key) => [
      key,
      new OpenAI({
        apiKey: key || 'unused',
        baseURL: `${base}/v1`,
        // Each call is counted once; retries are a scenario of their own.
        maxRetries: 0,
        timeout: 120_000,
        ...(key ? {} : { defaultHeaders: { Authorization: null } }),
      }),
    ]),
  );
  const authHeaders = (key: string): Record<string, string> => (key ? { Authorization: `Bearer ${key}` } : {});

  /** Runs one SDK call, recording what the proxy answered (or that nothing came back). */
  async function sdk<T>(model: string, call: () => Promise<{ data: T; response: Response }>, usageOf: (d: T) => Usage | undefined) {
    try {
      const { data, response } = await call();
      stats.observe({ status: response.status, headers: response.headers, model, usage: usageOf(data) });
    } catch (err) {
      if (err instanceof OpenAI.APIError && err.status !== undefined) {
        stats.observe({ status: err.status, headers: err.headers ?? new Headers() });
      } else if (err instanceof OpenAI.APIUserAbortError) {
        stats.aborted();
      } else stats.failed(err);
    }
  }

  async function post(path: string, key: string, body: unknown, headers: Record<string, string> = {}) {
    try {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...authHeaders(key), ...headers },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { res, text };
    } catch (err) {
      stats.failed(err);
      return undefined;
    }
  }

  const chatParams = (model: string, content: string): OpenAI.ChatCompletionCreateParamsNonStreaming => ({
    model,
    messages: [{ role: 'system', content: 'You are a concise assistant for an insurance agency.' }, { role: 'user', content }],
    max_tokens: 200,
  });
  const freshPrompt = (r: Rng) => `Draft a ${r.pick(TOPICS)} for lead #${r.int(1000, 99999)} (${randomUUID().slice(0, 8)}).`;

  async function chatOnce(key: string, params: OpenAI.ChatCompletionCreateParamsNonStreaming, headers: Record<string, string> = {}) {
    const client = clients.get(key)!;
    await sdk(params.model, () => client.chat.completions.create(params, { headers }).withResponse(), (d) => chatUsage(d.usage));
  }

  async function run(scenario: Scenario, r: Rng): Promise<void> {
    const key = r.pick(tenants);
    const client = clients.get(key)!;
    const model = r.weighted(CHAT_MODELS);
    switch (scenario) {
      case 'persona': {
        // Few profiles, so the same lead comes back often (persona cache hits); the same email as
        // well now and then (an exact duplicate: an idempotent replay).
        const i = r.int(0, LEADS.length - 1);
        const body = { email: `lead${i}.${r.int(1, 3)}@example.com`, leadData: LEADS[i], config: { numPersonas: 3 + (i % 3) } };
        const got = await post('/api/personas/generate', key, body);
        if (!got) return;
        let replayed = false;
        try {
          replayed = (JSON.parse(got.text) as { fromIdempotentCache?: boolean }).fromIdempotentCache === true;
        } catch {
          // an error body: counted by its status
        }
        stats.observe({ status: got.res.status, headers: got.res.headers, replayed });
        return;
      }
      case 'chat':
        return chatOnce(key, chatParams(model, freshPrompt(r)));
      case 'cachedChat':
        return chatOnce(key, { ...chatParams('gpt-4o-mini', r.pick(FAQ)), temperature: 0 }, { 'X-Tollgate-Cache': 'on' });
      case 'duplicate': {
        const params = chatParams(model, freshPrompt(r));
        await chatOnce(key, params);
        await chatOnce(key, params);
        return;
      }
      case 'retry': {
        // A client that timed out and retries with the same key: the second answer is a replay.
        const headers = { 'Idempotency-Key': `demo-${randomUUID()}` };
        const params = chatParams(model, freshPrompt(r));
        await chatOnce(key, params, headers);
        await sleep(r.int(50, 400));
        await chatOnce(key, params, headers);
        return;
      }
      case 'concurrent': {
        // A burst of identical requests (a double-clicked button, a fan-out bug): one upstream call.
        const params = chatParams(model, freshPrompt(r));
        await Promise.all(Array.from({ length: r.int(3, 5) }, () => chatOnce(key, params, { 'X-Tollgate-Cache': 'on' })));
        return;
      }
      case 'stream': {
        await sdk(
          model,
          async () => {
            const { data: stream, response } = await client.chat.completions
              .create({ ...chatParams(model, freshPrompt(r)), stream: true, stream_options: { include_usage: true } })
              .withResponse();
            let usage: OpenAI.CompletionUsage | null | undefined;
            for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
            return { data: usage, response };
          },
          chatUsage,
        );
        return;
      }
      case 'apiStream': {
        const got = await post('/api/chat/stream', key, { messages: [{ role: 'user', content: freshPrompt(r) }] });
        if (got) stats.observe({ status: got.res.status, headers: got.res.headers, model: 'gpt-4o-mini', usage: usageFromSse(got.text) });
        return;
      }
      case 'embeddings': {
        const m = r.chance(0.8) ? 'text-embedding-3-small' : 'text-embedding-3-large';
        const input = r.chance(0.5) ? r.pick(DOCS) : [r.pick(DOCS), r.pick(DOCS)];
        await sdk(
          m,
          () => client.embeddings.create({ model: m, input }, { headers: { 'X-Tollgate-Cache': 'on' } }).withResponse(),
          (d) => ({ promptTokens: d.usage.prompt_tokens, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, totalTokens: d.usage.total_tokens, source: 'reported' }),
        );
        return;
      }
      case 'responses': {
        const m = r.chance(0.5) ? 'gpt-4.1-mini' : 'gpt-5-mini';
        await sdk(
          m,
          () => client.responses.create({ model: m, input: freshPrompt(r), max_output_tokens: 300 }).withResponse(),
          (d) =>
            d.usage
              ? {
                  promptTokens: d.usage.input_tokens,
                  completionTokens: d.usage.output_tokens,
                  cachedTokens: d.usage.input_tokens_details?.cached_tokens ?? 0,
                  reasoningTokens: d.usage.output_tokens_details?.reasoning_tokens ?? 0,
                  totalTokens: d.usage.total_tokens,
                  source: 'reported',
                }
              : undefined,
        );
        return;
      }
      case 'error': {
        const status = r.pick(['429', '500', '503']);
        const got = await post('/v1/chat/completions', key, chatParams(model, freshPrompt(r)), { 'x-mock-error': status });
        if (got) stats.observe({ status: got.res.status, headers: got.res.headers });
        return;
      }
      case 'abort': {
        // The user closes the tab mid-answer: the client goes away after a few chunks.
        const ac = new AbortController();
        try {
          const stream = await client.chat.completions.create(
            { ...chatParams(model, freshPrompt(r)), stream: true, stream_options: { include_usage: true } },
            { signal: ac.signal, headers: { 'x-mock-chunk-delay-ms': '40' } },
          );
          let n = 0;
          for await (const _chunk of stream) {
            if (++n >= 3) {
              ac.abort();
              break;
            }
          }
          stats.aborted();
        } catch (err) {
          if (err instanceof OpenAI.APIUserAbortError || ac.signal.aborted) stats.aborted();
          else if (err instanceof OpenAI.APIError && err.status !== undefined) stats.observe({ status: err.status, headers: err.headers ?? new Headers() });
          else stats.failed(err);
        }
        return;
      }
    }
  }

  const started = performance.now();
  const concurrency = opts.concurrency ?? 16;
  const inflight = new Set<Promise<void>>();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  const deadline = opts.durationMs > 0 ? setTimeout(() => stop.abort(), opts.durationMs) : undefined;
  const progressEvery = opts.progressEveryMs ?? 5000;
  const progress = progressEvery > 0 ? setInterval(() => log(progressLine(stats.s, performance.now() - started)), progressEvery) : undefined;

  try {
    while (!stop.signal.aborted) {
      // Exponential gaps: arrivals like independent users, not a metronome.
      await sleep((-Math.log(1 - rng.next()) / opts.rate) * 1000, stop.signal);
      if (stop.signal.aborted) break;
      if (inflight.size >= concurrency) {
        stats.s.dropped++;
        continue;
      }
      const scenario = rng.weighted(weighted);
      stats.s.scenarios++;
      stats.s.byScenario[scenario] = (stats.s.byScenario[scenario] ?? 0) + 1;
      const p = run(scenario, createRng(rng.int(0, 2 ** 31))).catch((err: unknown) => stats.failed(err));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    // Let the scenarios already started finish, so the summary matches the proxy's log.
    await Promise.allSettled([...inflight]);
  } finally {
    if (deadline) clearTimeout(deadline);
    if (progress) clearInterval(progress);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  stats.s.elapsedMs = Math.round(performance.now() - started);
  return stats.s;
}

/** Usage from the final usage chunk of an SSE chat stream, if it has one. */
export function usageFromSse(text: string): Usage | undefined {
  let usage: Usage | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (!data || data === '[DONE]') continue;
    try {
      const chunk = JSON.parse(data) as { usage?: OpenAI.CompletionUsage | null };
      if (chunk.usage) usage = chatUsage(chunk.usage);
    } catch {
      // not JSON: not a chunk we price
    }
  }
  return usage;
}

const usd = (n: number) => `$${n.toFixed(4)}`;

export function progressLine(s: TrafficSummary, elapsedMs: number): string {
  return (
    `[traffic ${Math.round(elapsedMs / 1000)}s] calls ${s.calls}  ok ${s.ok}  http-errors ${s.httpErrors}  aborted ${s.aborted}` +
    `  failed ${s.failures}  hits ${s.hits}  replays ${s.replays}  cost ${usd(s.costUsd)}  saved ${usd(s.savedUsd)}`
  );
}

export function summaryText(s: TrafficSummary): string {
  const scen = Object.entries(s.byScenario).map(([k, v]) => `${k} ${v}`).join(', ');
  const status = Object.entries(s.byStatus).sort().map(([k, v]) => `${k}: ${v}`).join(', ');
  const servedShare = s.ok ? (((s.hits + s.replays) / s.ok) * 100).toFixed(1) : '0.0';
  return [
    `traffic summary after ${(s.elapsedMs / 1000).toFixed(1)}s`,
    `  scenarios ${s.scenarios} (${scen || 'none'})${s.dropped ? `, ${s.dropped} dropped at the concurrency limit` : ''}`,
    `  calls     ${s.calls}: ok ${s.ok}, http errors ${s.httpErrors}, client aborts ${s.aborted}, no answer ${s.failures}`,
    `  statuses  ${status || 'none'}`,
    `  served by Tollgate: ${s.hits} cache hits, ${s.replays} replays (${servedShare}% of ok calls)`,
    `  cost ${usd(s.costUsd)} upstream, ${usd(s.savedUsd)} saved (estimated from usage x price table; personas not priced here)`,
    ...(s.failureSamples.length ? [`  first failures: ${s.failureSamples.join(' | ')}`] : []),
  ].join('\n');
}

async function waitReady(base: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until && !signal.aborted) {
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(1000, signal);
  }
  throw new Error(`proxy at ${base} not ready after ${Math.round(timeoutMs / 1000)}s (${last})`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      concurrency: { type: 'string' },
    },
  });
  const env = process.env;
  const num = (name: string, raw: string | undefined, fallback: number, min: number) => {
    const v = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
    return v;
  };
  const proxyUrl = values.url ?? env.TRAFFIC_PROXY_URL ?? 'http://localhost:8080';
  const rate = num('rate (TRAFFIC_RATE)', values.rate ?? env.TRAFFIC_RATE, 2, 0.01);
  const durationS = num('duration (TRAFFIC_DURATION)', values.duration ?? env.TRAFFIC_DURATION, 0, 0);
  const concurrency = num('concurrency (TRAFFIC_CONCURRENCY)', values.concurrency ?? env.TRAFFIC_CONCURRENCY, 16, 1);
  const yes = (v: string | undefined) => ['1', 'true', 'yes', 'on'].includes((v ?? '').trim().toLowerCase());

  let tenants = env.TRAFFIC_TENANTS ? env.TRAFFIC_TENANTS.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  let faults = env.TRAFFIC_FAULTS === undefined || env.TRAFFIC_FAULTS === '' ? true : yes(env.TRAFFIC_FAULTS);
  if (yes(env.TRAFFIC_UPSTREAM_IS_REAL)) {
    // Real OpenAI bills every call; the demo keys would be rejected there anyway.
    if (!yes(env.TRAFFIC_ALLOW_REAL_UPSTREAM)) {
      console.log('traffic: the proxy talks to the real OpenAI API (OPENAI_API_KEY is set), so no demo traffic is sent. ' +
        'Set TRAFFIC_ALLOW_REAL_UPSTREAM=true to send it anyway (billed to that key).');
      return;
    }
    tenants = tenants ?? [''];
    faults = false;
  }

  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  const base = proxyUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
  await waitReady(base, num('TRAFFIC_WAIT_SECONDS', env.TRAFFIC_WAIT_SECONDS, 60, 0) * 1000, ac.signal);
  console.log(
    `traffic: ${rate}/s to ${base} ${durationS ? `for ${durationS}s` : 'until stopped (Ctrl-C)'}, ` +
      `${(tenants ?? DEMO_TENANTS.map((t) => t.key)).length} tenants${faults ? ', with injected upstream errors and aborts' : ''}`,
  );
  const summary = await runTraffic({ proxyUrl: base, rate, durationMs: durationS * 1000, concurrency, tenants, faults, signal: ac.signal });
  console.log(summaryText(summary));
  // Nothing answered at all: the proxy is down or the URL is wrong, which a caller should see.
  if (summary.calls > 0 && summary.failures === summary.calls) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`traffic failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
