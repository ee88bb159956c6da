import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

export type CacheStatus = 'miss' | 'hit' | 'idempotent_replay' | 'coalesced' | 'bypass';
export type UsageSource = 'reported' | 'estimated' | 'none';

/** One openai_call_log row; field names map 1:1 to columns (camelCase → snake_case). */
export interface CallLogRow {
  endpoint: string;
  model: string;
  tokensPrompt: number | null;
  tokensCompletion: number | null;
  costUsd: number | null;
  createdAt: Date;
  requestId: string;
  upstreamRequestId: string | null;
  tenant: string;
  method: string;
  path: string;
  statusCode: number;
  stream: boolean;
  cacheStatus: CacheStatus;
  tokensCached: number | null;
  tokensReasoning: number | null;
  /** Null when a served copy's original cost is unknown (unpriced model). */
  costSavedUsd: number | null;
  latencyMs: number | null;
  ttfbMs: number | null;
  upstreamMs: number | null;
  usageSource: UsageSource;
  clientAborted: boolean;
  errorType: string | null;
}

const COLUMNS: Array<[keyof CallLogRow, string]> = [
  ['endpoint', 'endpoint'],
  ['model', 'model'],
  ['tokensPrompt', 'tokens_prompt'],
  ['tokensCompletion', 'tokens_completion'],
  ['costUsd', 'cost_usd'],
  ['createdAt', 'created_at'],
  ['requestId', 'request_id'],
  ['upstreamRequestId', 'upstream_request_id'],
  ['tenant', 'tenant'],
  ['method', 'method'],
  ['path', 'path'],
  ['statusCode', 'status_code'],
  ['stream', 'stream'],
  ['cacheStatus', 'cache_status'],
  ['tokensCached', 'tokens_cached'],
  ['tokensReasoning', 'tokens_reasoning'],
  ['costSavedUsd', 'cost_saved_usd'],
  ['latencyMs', 'latency_ms'],
  ['ttfbMs', 'ttfb_ms'],
  ['upstreamMs', 'upstream_ms'],
  ['usageSource', 'usage_source'],
  ['clientAborted', 'client_aborted'],
  ['errorType', 'error_type'],
];

// One statement per batch, one parameter: the batch as a JSON array of rows, expanded by
// json_populate_recordset into the table's own column types. JSON.stringify is native; pg's
// per-value array escaping was a visible share of the proxy's CPU under load.
const INSERT_SQL = `INSERT INTO openai_call_log (${COLUMNS.map(([, c]) => c).join(', ')})
SELECT ${COLUMNS.map(([, c]) => c).join(', ')} FROM json_populate_recordset(NULL::openai_call_log, $1::json)`;

/** The batch as json_populate_recordset reads it: one object per row, keyed by column name. */
function batchJson(batch: CallLogRow[]): string {
  return JSON.stringify(batch.map(asColumns));
}

function asColumns(row: CallLogRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, column] of COLUMNS) out[column] = row[key];
  return out;
}

export interface CallLogOptions {
  batchSize: number;
  flushMs: number;
  maxQueue: number;
}

/**
 * Collects call-log rows in memory and writes them in multi-row batches off the response path.
 * A failed batch is retried on the next flush (kept at the front of the queue) so a database
 * blip loses nothing; only a queue grown past maxQueue drops rows, and counts them.
 */
export class CallLogWriter {
  private queue: CallLogRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly opts: CallLogOptions,
    private readonly logger?: Logger,
    private readonly metrics?: Metrics,
  ) {}

  write(row: CallLogRow): void {
    if (this.queue.length >= this.opts.maxQueue) {
      this.metrics?.logQueue.inc();
      this.logger?.error({ requestId: row.requestId }, 'call log queue full; row dropped');
      return;
    }
    this.queue.push(row);
    if (this.queue.length >= this.opts.batchSize) void this.flush();
    else if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.opts.flushMs);
      this.timer.unref();
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Writes everything queued so far; resolves when it is in the database (or failed and re-queued). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    this.flushing = this.writeBatches().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  private async writeBatches(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.batchSize);
      try {
        await this.pool.query(INSERT_SQL, [batchJson(batch)]);
        this.metrics?.logWritten.inc(batch.length);
      } catch (err) {
        this.queue.unshift(...batch);
        this.logger?.error({ err: (err as Error).message, rows: batch.length }, 'call log batch failed; will retry');
        if (!this.closed && !this.timer) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            void this.flush();
          }, Math.max(this.opts.flushMs, 1000));
          this.timer.unref();
        }
        return;
      }
    }
  }

  /** Final flush on shutdown; stops the timer. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
