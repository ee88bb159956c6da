import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

/** The proxy's Prometheus metrics, on a registry of its own so tests can create several apps. */
export function createMetrics(known: { endpoint?: (e: string) => boolean; model?: (m: string) => boolean } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labels = ['endpoint', 'model', 'cache_status', 'status'] as const;
  return {
    registry,
    endpointLabel: new BoundedLabel(64, known.endpoint),
    modelLabel: new BoundedLabel(128, known.model),
    requests: new Counter({ name: 'tollgate_requests_total', help: 'Requests handled', labelNames: labels, registers: [registry] }),
    tokens: new Counter({
      name: 'tollgate_tokens_total',
      help: 'Tokens reported or estimated, by kind (prompt, completion, cached, reasoning)',
      labelNames: ['endpoint', 'model', 'kind'] as const,
      registers: [registry],
    }),
    costUsd: new Counter({ name: 'tollgate_cost_usd_total', help: 'Cost of upstream calls in USD', labelNames: ['endpoint', 'model'] as const, registers: [registry] }),
    savedUsd: new Counter({ name: 'tollgate_saved_usd_total', help: 'Cost avoided by cache hits, replays and coalescing in USD', labelNames: ['endpoint', 'cache_status'] as const, registers: [registry] }),
    unknownModel: new Counter({ name: 'tollgate_unpriced_calls_total', help: 'Calls whose model has no price (cost_usd logged NULL)', labelNames: ['model'] as const, registers: [registry] }),
    upstreamSeconds: new Histogram({
      name: 'tollgate_upstream_duration_seconds',
      help: 'Time from sending upstream to the end of the upstream response',
      labelNames: ['endpoint', 'stream'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    overheadSeconds: new Histogram({
      name: 'tollgate_proxy_overhead_seconds',
      help: 'Time the proxy adds before forwarding upstream (request received to upstream request sent)',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [registry],
    }),
    logQueue: new Counter({ name: 'tollgate_call_log_dropped_total', help: 'Call-log rows dropped because the queue was full or the database failed', registers: [registry] }),
    logWritten: new Counter({ name: 'tollgate_call_log_written_total', help: 'Call-log rows written', registers: [registry] }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
