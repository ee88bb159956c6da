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
 * A labelled metric's child per label combination, made once: prom-client hashes the label object
 * on every inc(), a few percent of the proxy's CPU at thousands of requests a second. The
 * combinations are bounded because every label value passes through a BoundedLabel.
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

/** The proxy's Prometheus metrics, on a registry of its own so tests can create several apps. */
export function createMetrics(known: { endpoint?: (e: string) => boolean; model?: (m: string) => boolean } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Read at scrape time from whoever owns the value (the call-log writer, the database health).
  const probes = { logPending: () => 0, spoolBytes: () => 0, databaseUp: () => 1 };
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  const labels = ['endpoint', 'model', 'cache_status', 'status'] as const;
  const requests = new Counter({ name: 'tollgate_requests_total', help: 'Requests handled', labelNames: labels, registers: [registry] });
  const tokens = new Counter({
    name: 'tollgate_tokens_total',
    help: 'Tokens reported or estimated, by kind (prompt, completion, cached, reasoning)',
    labelNames: ['endpoint', 'model', 'kind'] as const,
    registers: [registry],
  });
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
    requests,
    /** requests by (endpoint, model, cache_status, status), children made once. */
    requestsOf: children((e, m, c, s) => requests.labels(e!, m!, c!, s!)),
    tokens,
    /** tokens by (endpoint, model): the four kinds' children. */
    tokensOf: children((e, m) => ({
      prompt: tokens.labels(e!, m!, 'prompt'),
      completion: tokens.labels(e!, m!, 'completion'),
      cached: tokens.labels(e!, m!, 'cached'),
      reasoning: tokens.labels(e!, m!, 'reasoning'),
    })),
    costUsd: new Counter({ name: 'tollgate_cost_usd_total', help: 'Cost of upstream calls in USD', labelNames: ['endpoint', 'model'] as const, registers: [registry] }),
    savedUsd: new Counter({ name: 'tollgate_saved_usd_total', help: 'Cost avoided by cache hits, replays and coalescing in USD', labelNames: ['endpoint', 'cache_status'] as const, registers: [registry] }),
    unknownModel: new Counter({ name: 'tollgate_unpriced_calls_total', help: 'Calls whose model has no price (cost_usd logged NULL)', labelNames: ['model'] as const, registers: [registry] }),
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
