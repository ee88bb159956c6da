import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { DatabaseHealth } from '../db/health.js';
import type { Segment, Spool } from './spool.js';

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
  /** Attribution inside the tenant (migration 020); absent is NULL. */
  appUser?: string | null;
  tags?: string[] | null;
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
  ['appUser', 'app_user'],
  ['tags', 'tags'],
];

// One statement per batch, one parameter: the batch as a JSON array of rows, expanded by
// json_populate_recordset into the table's own column types. JSON.stringify is native; pg's
// per-value array escaping was a visible share of the proxy's CPU under load. Each row is
// serialised once, when it is written: the same line goes to the spool and into the batch.
// ON CONFLICT DO NOTHING, with no target: a row replayed from the spool that is already in the
// table is skipped, whichever unique index the table has (request_id since migration 010;
// request_id with created_at on a partitioned table: a spooled line keeps its created_at).
export const INSERT_SQL = `INSERT INTO openai_call_log (${COLUMNS.map(([, c]) => c).join(', ')})
SELECT ${COLUMNS.map(([, c]) => c).join(', ')} FROM json_populate_recordset(NULL::openai_call_log, $1::json)
ON CONFLICT DO NOTHING`;

// Fresh rows (never sent before) go in with COPY: Postgres spends a fifth less CPU per row than
// on the JSON insert, and the row is this process's, so a duplicate only happens when a batch
// committed but its reply was lost; then the batch goes again through INSERT ... ON CONFLICT.
export const COPY_SQL = `COPY openai_call_log (${COLUMNS.map(([, c]) => c).join(', ')}) FROM STDIN`;

/** A text value as COPY's text format reads it: backslash, tab, newline and carriage return escaped. */
function copyText(v: string): string {
  return /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : v;
}
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text[] value: an array literal with every element quoted, then escaped for COPY. */
function copyArray(tags: string[]): string {
  return copyText(`{${tags.map((t) => `"${t.replace(/["\\]/g, '\\$&')}"`).join(',')}}`);
}

const copyValue = (v: string | number | boolean | Date | string[] | null | undefined): string =>
  v === null || v === undefined
    ? '\\N'
    : typeof v === 'string'
      ? copyText(v)
      : typeof v === 'boolean'
        ? (v ? 't' : 'f')
        : v instanceof Date
          ? (isoOf(v) ?? '\\N')
          : Array.isArray(v)
            ? copyArray(v)
            : Number.isFinite(v)
              ? String(v)
              : '\\N'; // as JSON.stringify writes NaN and Infinity: null

/** The row as one line of COPY's text format, columns in COLUMNS order (a test checks it against the JSON insert). */
export function copyLine(r: CallLogRow): string {
  let line = '';
  for (let i = 0; i < COLUMNS.length; i++) line += (i ? '\t' : '') + copyValue(r[COLUMNS[i]![0]]);
  return line + '\n';
}

/**
 * A string without lone UTF-16 surrogates (each becomes U+FFFD). JSON.stringify writes one as a
 * `\\ud800` escape, which Postgres's json refuses: the row would be set aside on replay. COPY gets
 * the same U+FFFD from the UTF-8 encoding, so both paths store the same text.
 */
function wellFormed<T extends string | null>(s: T): T {
  return s === null || s.isWellFormed() ? s : (s.toWellFormed() as T);
}

let memoMs = NaN;
let memoIso = '';
/**
 * A Date as ISO text (null when invalid, as JSON.stringify writes it). toISOString takes a few µs,
 * as long as the rest of the row's serialisation; rows recorded in the same millisecond share it.
 */
function isoOf(d: Date): string | null {
  const ms = d.getTime();
  if (ms !== memoMs) {
    if (Number.isNaN(ms)) return null;
    memoMs = ms;
    memoIso = d.toISOString();
  }
  return memoIso;
}

/**
 * A row as json_populate_recordset reads it: one object keyed by column name, as JSON text. Built
 * as one literal (a fixed shape V8 serialises fast) rather than key by key; a test checks that it
 * names exactly COLUMNS.
 */
export function rowJson(r: CallLogRow): string {
  return JSON.stringify({
    endpoint: wellFormed(r.endpoint),
    model: wellFormed(r.model),
    tokens_prompt: r.tokensPrompt,
    tokens_completion: r.tokensCompletion,
    cost_usd: r.costUsd,
    created_at: isoOf(r.createdAt),
    request_id: r.requestId,
    upstream_request_id: wellFormed(r.upstreamRequestId),
    tenant: r.tenant,
    method: r.method,
    path: wellFormed(r.path),
    status_code: r.statusCode,
    stream: r.stream,
    cache_status: r.cacheStatus,
    tokens_cached: r.tokensCached,
    tokens_reasoning: r.tokensReasoning,
    cost_saved_usd: r.costSavedUsd,
    latency_ms: r.latencyMs,
    ttfb_ms: r.ttfbMs,
    upstream_ms: r.upstreamMs,
    usage_source: r.usageSource,
    client_aborted: r.clientAborted,
    error_type: r.errorType,
    app_user: wellFormed(r.appUser ?? null),
    tags: r.tags?.map(wellFormed) ?? null,
  });
}

/** The row keyed by column name, from the COLUMNS mapping: what rowJson must serialise (its test compares them). */
export function rowColumns(row: CallLogRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, column] of COLUMNS) out[column] = row[key] ?? null;
  return out;
}

export interface CallLogOptions {
  batchSize: number;
  flushMs: number;
  maxQueue: number;
  /** Fresh rows go in with COPY when the server takes it (a pool of real connections only). */
  copy?: boolean;
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation): the row, not the database. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** Longest wait between two attempts while the database is unreachable. */
const MAX_BACKOFF_MS = 5_000;

interface Queued {
  line: string;
  /** The same row as a COPY line, while COPY is not known to be unavailable. */
  copy: string | undefined;
  seg: Segment | undefined;
}

/**
 * Collects call-log rows and writes them in multi-row batches off the response path. Each row is
 * also appended to the local spool (spool.ts) as it is written, and acknowledged there once it is
 * in the database, so a crash or an outage loses nothing that reached the disk.
 *
 * While the database is unreachable the writer backs off (LOG_FLUSH_MS doubling up to 5 s) and
 * logs one line when it goes and one when it is back (with how many rows waited); rows wait in
 * memory up to LOG_MAX_QUEUE, and past that on disk only, to be replayed from the spool. Only a row
 * that neither fits in memory nor in the spool is dropped, and counted.
 */
export class CallLogWriter {
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private down = false;
  private failures = 0;
  private diskOnly = 0;
  private refusedSince = 0;
  /** Whether the server takes COPY FROM STDIN: asked once (the embedded PGlite's socket does not). */
  private copyUsable: Promise<boolean> | boolean | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly opts: CallLogOptions,
    private readonly logger?: Logger,
    private readonly metrics?: Metrics,
    private readonly spool?: Spool,
    private readonly health?: DatabaseHealth,
  ) {
    if (metrics) {
      metrics.probes.logPending = () => this.pending;
      metrics.probes.spoolBytes = () => this.spool?.sizeBytes ?? 0;
    }
    // Rows a crashed process left in the spool go in as soon as the database answers.
    if (spool?.replayable().length) this.schedule(0);
  }

  /** The spool adopted a crashed process's segments: replayed now, not when traffic next comes. */
  adopted(): void {
    this.schedule(0);
  }

  /** Queues a row; `onDisk` runs once it is in the spool file (at once when there is no spool or it refused the row). */
  write(row: CallLogRow, onDisk?: () => void): void {
    const line = rowJson(row);
    const seg = this.spool?.append(line, onDisk);
    if (!seg) onDisk?.();
    else if (this.refusedSince > 0) {
      this.logger?.warn({ refused: this.refusedSince }, 'call log spool takes rows again');
      this.refusedSince = 0;
    }
    if (this.queue.length >= this.opts.maxQueue) {
      if (seg) {
        // On disk only: replayed from the spool's file once the queue has drained.
        seg.diskOnly++;
        this.diskOnly++;
      } else this.drop(row.requestId);
      return;
    }
    this.queue.push({ line, copy: this.opts.copy && this.copyUsable !== false ? copyLine(row) : undefined, seg });
    // While the database is away the backoff timer decides when to try again, not the traffic.
    if (this.queue.length >= this.opts.batchSize && !this.down) void this.flush();
    else this.schedule(this.opts.flushMs);
  }

  /** Whether fresh rows go in with COPY (known after the first batch). */
  get copying(): boolean {
    return this.copyUsable === true;
  }

  /** Rows not yet in the database: queued in memory, and kept on disk only. */
  get pending(): number {
    return this.queue.length + this.diskOnly;
  }

  /** The spool refused rows (full, or the disk failed): one line per episode, every row counted. */
  spoolRefused(rows: number, why: string): void {
    this.metrics?.spoolRefused.inc(rows);
    if (this.refusedSince === 0) this.logger?.error({ why, spoolBytes: this.spool?.sizeBytes }, 'call log spool refused rows (SPOOL_MAX_BYTES or the disk); they are kept in memory only');
    this.refusedSince += rows;
  }

  /** Writes everything queued so far; resolves when it is in the database (or failed and kept). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0 && !this.spool?.replayable().length && !this.diskOnly) return;
    this.flushing = this.writeBatches().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  private schedule(ms: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, ms);
    this.timer.unref();
  }

  private drop(requestId: string): void {
    this.metrics?.logQueue.inc();
    this.logger?.error({ requestId }, 'call log queue and spool full; row dropped');
  }

  private async writeBatches(): Promise<void> {
    const waiting = this.pending;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.opts.batchSize);
        try {
          await this.insert(batch.map((q) => q.line), batch.every((q) => q.copy !== undefined) ? batch.map((q) => q.copy!) : undefined);
        } catch (err) {
          this.queue.unshift(...batch);
          throw err;
        }
        for (const q of batch) if (q.seg) this.spool!.ack(q.seg, 1);
      }
      await this.replaySpool();
      this.recovered(waiting);
    } catch (err) {
      this.failed(err as Error);
    }
  }

  /** Rows that are on disk only (a crashed process's, or past LOG_MAX_QUEUE), from their files. */
  private async replaySpool(): Promise<void> {
    if (!this.spool) return;
    this.spool.closeCurrentIfReplayable();
    for (const seg of this.spool.replayable()) {
      const lines = this.spool.readSegment(seg);
      for (let i = 0; i < lines.length; i += this.opts.batchSize) await this.insert(lines.slice(i, i + this.opts.batchSize));
      this.diskOnly = Math.max(0, this.diskOnly - seg.diskOnly);
      this.spool.replayed(seg);
    }
    // Disk-only rows of a segment still being closed: the next round takes them.
    if (this.diskOnly > 0) this.schedule(this.opts.flushMs);
  }

  /**
   * Inserts rows. A batch the database refuses for its data (a row no constraint accepts: a spool
   * written by another version, a file edited by hand) goes again row by row, and the rows it
   * refuses are set aside (SPOOL_DIR/rejected.ndjson, logged, counted): one bad row must not hold
   * back the others, nor pass for an outage.
   */
  private async insert(lines: string[], copies?: string[]): Promise<void> {
    try {
      if (copies?.length && (await this.copyWorks())) await this.copyBatch(copies, lines);
      else await this.insertBatch(lines);
    } catch (err) {
      if (!isDataError(err)) throw err;
      const rejected: string[] = [];
      let reason = (err as Error).message;
      for (const line of lines) {
        try {
          await this.insertBatch([line]);
        } catch (one) {
          if (!isDataError(one)) throw one;
          rejected.push(line);
          reason = (one as Error).message;
        }
      }
      if (!rejected.length) return;
      const file = this.spool?.reject(rejected);
      this.metrics?.logRejected.inc(rejected.length);
      this.logger?.error({ rows: rejected.length, err: reason, file }, 'call log: the database refused rows for their data; they are set aside, the others are written');
    }
  }

  /** COPY for a batch of fresh rows; a batch partly in already (its commit's reply was lost) goes again as an insert that skips them. */
  private async copyBatch(copies: string[], lines: string[]): Promise<void> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      // The data, its header and CopyDone go out in one write once the server is ready for them,
      // not three: on a busy machine every write wakes the backend, which can take the CPU from
      // the proxy's thread in the middle of it.
      const connection = (client as unknown as { connection?: EventEmitter & { stream?: Writable } }).connection;
      connection?.prependOnceListener('copyInResponse', () => {
        const socket = connection.stream;
        if (!socket) return;
        socket.cork();
        process.nextTick(() => socket.uncork());
      });
      const rows = await new Promise<number>((resolve, reject) => {
        const stream = client.query(copyFrom(COPY_SQL));
        stream.on('finish', () => resolve(stream.rowCount));
        stream.on('error', reject);
        stream.end(copies.join(''));
      });
      this.metrics?.logWritten.inc(rows);
    } catch (err) {
      // An error the server answered leaves the connection usable; anything else does not.
      if ((err as { code?: unknown }).code === undefined) broken = err as Error;
      if ((err as { code?: unknown }).code !== '23505') throw err;
      await this.insertBatch(lines);
    } finally {
      client.release(broken);
    }
  }

  private copyWorks(): Promise<boolean> | boolean {
    this.copyUsable ??= this.pool.query<{ v: string }>('SELECT version() AS v').then(
      ({ rows }) => (this.copyUsable = !/emscripten/i.test(rows[0]?.v ?? '')),
      (err: unknown) => {
        // Unknown until the database answers: this batch fails the same way, and the next asks again.
        this.copyUsable = undefined;
        throw err;
      },
    );
    return this.copyUsable;
  }

  private async insertBatch(lines: string[]): Promise<void> {
    const { rowCount } = await this.pool.query(INSERT_SQL, [`[${lines.join(',')}]`]);
    this.metrics?.logWritten.inc(rowCount ?? lines.length);
  }

  private failed(err: Error): void {
    this.failures++;
    this.health?.failed();
    if (!this.down) {
      this.down = true;
      this.logger?.error(
        { err: err.message, pending: this.pending, spoolBytes: this.spool?.sizeBytes ?? null },
        'call log: database unreachable; rows wait in the spool and are written when it is back',
      );
    }
    if (!this.closed) this.schedule(Math.min(MAX_BACKOFF_MS, this.opts.flushMs * 2 ** Math.min(this.failures, 10)));
  }

  private recovered(waited: number): void {
    this.failures = 0;
    this.health?.ok();
    if (this.down) {
      this.down = false;
      this.logger?.warn({ waited, pending: this.pending }, 'call log: database back; the rows that waited are written');
    }
  }

  /** Final flush on shutdown (one attempt: what the database does not take stays in the spool); stops the timer. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    await this.spool?.close();
  }
}
