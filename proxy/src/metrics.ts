import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Label values come from what callers send (paths, model names), so each label keeps the first
 * `limit` distinct values it sees and reports the rest as `other`: a caller cannot grow the
 * metrics (and the proxy's memory) without bound. Known values (OpenAI's endpoints, the price
 * table's models: a fixed set) always keep their name, so junk sent first cannot push them out.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  /** `known` values always keep their name; the limit only applies to the others. */
  constructor(
    private readonly limit: number,
    private readonly known: (value: string) => boolean = () => false,
  ) {}

  of(value: string): string {
    if (this.seen.has(value) || this.known(value)) return value;
    if (this.seen.size >= this.limit) return 'other';
    this.seen.add(value);
    return value;
  }
}

/**
 * A labelled metric's child per label combination, made once. The combinations are bounded
 * because every label value passes through a BoundedLabel.
 */
export function children<C>(make: (...values: string[]) => C): (...values: string[]) => C {
  const made = new Map<string, C>();
  return (...values) => {
    const key = values.join('\u0000');
    let child = made.get(key);
    if (!child) made.set(key, (child = make(...values)));
    return child;
  };
}

/** What the request path adds to a counter: a plain number, handed to prom-client when it is read. */
export interface Tally {
  inc(by?: number): void;
}

/**
 * A counter whose per-request increments go to plain numbers, one per label combination, and
 * reach prom-client when the registry is read (a scrape, a test): prom-client hashes the label
 * object on every inc(), even a child's, and six of them per request were a few percent of the
 * proxy's CPU. `of(...values)` gives the combination's tally, in labelNames order.
 */
export function talliedCounter(registry: Registry, name: string, help: string, labelNames: string[]) {
  const tallies: Array<{ labels: Record<string, string>; n: number }> = [];
  const counter = new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const t of tallies) {
        if (t.n === 0) continue;
        this.inc(t.labels, t.n);
        t.n = 0;
      }
    },
  });
  const of = children((...values): Tally => {
    const t = { labels: Object.fromEntries(labelNames.map((l, i) => [l, values[i]!])), n: 0 };
    tallies.push(t);
    return { inc: (by = 1) => void (t.n += by) };
  });
  return { counter, of };
}

/** The proxy's Prometheus metrics, on a registry of its own so tests can create several apps. */
export function createMetrics(known: { endpoint?: (e: string) => boolean; model?: (m: string) => boolean } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Read at scrape time from whoever owns the value (the call-log writer, the database health).
  const probes = { logPending: () => 0, spoolBytes: () => 0, databaseUp: () => 1 };
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  const labels = ['endpoint', 'model', 'cache_status', 'status'] as const;
  const requests = talliedCounter(registry, 'tollgate_requests_total', 'Requests handled', [...labels]);
  const tokens = talliedCounter(registry, 'tollgate_tokens_total', 'Tokens reported or estimated, by kind (prompt, completion, cached, reasoning)', ['endpoint', 'model', 'kind']);
  const cost = talliedCounter(registry, 'tollgate_cost_usd_total', 'Cost of upstream calls in USD', ['endpoint', 'model']);
  const saved = talliedCounter(registry, 'tollgate_saved_usd_total', 'Cost avoided by cache hits, replays and coalescing in USD', ['endpoint', 'cache_status']);
  const unpriced = talliedCounter(registry, 'tollgate_unpriced_calls_total', 'Calls whose model has no price (cost_usd logged NULL)', ['model']);
  const upstreamSeconds = new Histogram({
    name: 'tollgate_upstream_duration_seconds',
    help: 'Time from sending upstream to the end of the upstream response',
    labelNames: ['endpoint', 'stream'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  return {
    registry,
    endpointLabel: new BoundedLabel(64, known.endpoint),
    modelLabel: new BoundedLabel(128, known.model),
    /** requests by (endpoint, model, cache_status, status). */
    requestsOf: requests.of,
    /** tokens by (endpoint, model): the four kinds' tallies. */
    tokensOf: children((e, m) => ({
      prompt: tokens.of(e!, m!, 'prompt'),
      completion: tokens.of(e!, m!, 'completion'),
      cached: tokens.of(e!, m!, 'cached'),
      reasoning: tokens.of(e!, m!, 'reasoning'),
    })),
    /** cost by (endpoint, model), saved by (endpoint, cache_status), unpriced calls by model. */
    costOf: cost.of,
    savedOf: saved.of,
    unpricedOf: unpriced.of,
    upstreamSeconds,
    upstreamSecondsOf: children((e, stream) => upstreamSeconds.labels(e!, stream!)),
    overheadSeconds: new Histogram({
      name: 'tollgate_proxy_overhead_seconds',
      help: 'Time the proxy adds before forwarding upstream (request received to upstream request sent)',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [registry],
    }),
    logQueue: new Counter({ name: 'tollgate_call_log_dropped_total', help: 'Call-log rows dropped because the queue was full or the database failed', registers: [registry] }),
    logWritten: new Counter({ name: 'tollgate_call_log_written_total', help: 'Call-log rows written', registers: [registry] }),
    logRejected: new Counter({ name: 'tollgate_call_log_rejected_total', help: 'Call-log rows the database refused for their data, set aside in SPOOL_DIR/rejected.ndjson', registers: [registry] }),
    spoolRefused: new Counter({ name: 'tollgate_call_log_spool_refused_total', help: 'Call-log rows the spool refused (SPOOL_MAX_BYTES reached, or the disk failed a write)', registers: [registry] }),
    probes,
    gauges: [
      gauge('tollgate_call_log_pending_rows', 'Call-log rows not yet in the database (in memory and on disk only)', () => probes.logPending()),
      gauge('tollgate_call_log_spool_bytes', 'Bytes the call-log spool holds on local disk', () => probes.spoolBytes()),
      gauge('tollgate_database_up', '1 while the database answers, 0 during an outage (the proxy keeps serving)', () => probes.databaseUp()),
    ],
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
