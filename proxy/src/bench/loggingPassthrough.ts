import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Pool as UpstreamPool } from 'undici';
import { COPY_SQL, copyLine } from '../log/callLog.js';

/**
 * The floor of a proxy that logs every call: the least any proxy must do to write Tollgate's call
 * log, and nothing more. It reads and parses each request body (the model; a stream is asked for
 * its usage), forwards it over undici keep-alive connections, reads the answer (JSON parsed for its
 * usage; an event stream relayed chunk by chunk and its usage read from the last events), and
 * queues one openai_call_log row per call, written with COPY in batches of LOG_BATCH_SIZE (200) or
 * every LOG_FLUSH_MS (250), as Tollgate's writer does, into the same table (its partitions, indexes
 * and rollup trigger) of DATABASE_URL.
 *
 * What it leaves out, so that it stays a floor: the spool (a crash loses every queued row), caches,
 * Idempotency-Keys, metrics, input checks, error answers, hiding the usage event it asked for.
 * Tollgate / this is the price of those; this / raw is the price of logging at all, on the same
 * cores. Prints "logging pass-through listening on http://HOST:PORT/v1"; GET /_logging/stats
 * says how many rows it wrote, lost and holds.
 */
const upstreamUrl = new URL(process.env['UPSTREAM_URL'] ?? 'http://127.0.0.1:8090/v1');
const upstream = new UpstreamPool(upstreamUrl.origin, { connections: 256 });
const db = new pg.Pool({ connectionString: process.env['DATABASE_URL'], max: 2 });
const BATCH = 200;
const FLUSH_MS = 250;
const PRICE_IN = 0.15e-6;
const PRICE_OUT = 0.6e-6;

let queued: string[] = [];
/** Rows in the database, and rows a failed batch lost: the bench checks that every call was written. */
let written = 0;
let lost = 0;
let timer: NodeJS.Timeout | undefined;
let flushing = false;

function log(endpoint: string, model: string, status: number, stream: boolean, usage: Usage | undefined, startedAt: number): void {
  const prompt = usage?.prompt_tokens ?? null;
  const completion = usage?.completion_tokens ?? null;
  queued.push(
    copyLine({
      endpoint,
      model,
      tokensPrompt: prompt,
      tokensCompletion: completion,
      costUsd: usage ? (prompt ?? 0) * PRICE_IN + (completion ?? 0) * PRICE_OUT : null,
      createdAt: new Date(),
      requestId: randomUUID(),
      upstreamRequestId: null,
      tenant: 'anonymous',
      method: 'POST',
      path: '/v1/chat/completions',
      statusCode: status,
      stream,
      cacheStatus: 'miss',
      tokensCached: null,
      tokensReasoning: null,
      costSavedUsd: 0,
      latencyMs: Math.round(performance.now() - startedAt),
      ttfbMs: null,
      upstreamMs: null,
      usageSource: usage ? 'reported' : 'none',
      clientAborted: false,
      errorType: null,
    }),
  );
  if (queued.length >= BATCH) void flush();
  else timer ??= setTimeout(() => void flush(), FLUSH_MS);
}

async function flush(): Promise<void> {
  if (flushing) return;
  flushing = true;
  clearTimeout(timer);
  timer = undefined;
  try {
    while (queued.length) {
      const batch = queued;
      queued = [];
      const client = await db.connect();
      try {
        await new Promise<void>((resolve, reject) => {
          const copy = client.query(copyFrom(COPY_SQL));
          copy.on('finish', resolve).on('error', reject);
          copy.end(batch.join(''));
        });
        written += batch.length;
      } catch (err) {
        lost += batch.length;
        throw err;
      } finally {
        client.release();
      }
    }
  } catch (err) {
    console.error(`logging pass-through: a batch failed: ${(err as Error).message}`);
  } finally {
    flushing = false;
  }
}

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

/** The usage object of the last event that carries one, in the tail of an event stream. */
function streamUsage(tail: string): Usage | undefined {
  const lines = tail.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i]!.startsWith('data: {')) continue;
    try {
      const event = JSON.parse(lines[i]!.slice(6)) as { usage?: Usage };
      if (event.usage) return event.usage;
    } catch {
      // the tail's first line, cut
    }
  }
  return undefined;
}

const server = http.createServer((req, res) => {
  if (req.url === '/_logging/stats') {
    res.end(JSON.stringify({ written, lost, queued: queued.length }));
    return;
  }
  const startedAt = performance.now();
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      let body = Buffer.concat(chunks);
      const parsed = JSON.parse(body.toString()) as { model?: string; stream?: boolean; stream_options?: unknown };
      if (parsed.stream) body = Buffer.from(JSON.stringify({ ...parsed, stream_options: { include_usage: true } }));
      const answer = await upstream.request({
        method: 'POST',
        path: req.url!,
        headers: { authorization: req.headers.authorization!, 'content-type': 'application/json' },
        body,
      });
      const type = String(answer.headers['content-type'] ?? '');
      if (type.includes('text/event-stream')) {
        res.writeHead(answer.statusCode, { 'content-type': type, 'cache-control': 'no-cache' });
        let tail = '';
        for await (const chunk of answer.body) {
          res.write(chunk);
          tail = (tail + (chunk as Buffer).toString()).slice(-4096);
        }
        res.end();
        log('chat.completions', parsed.model ?? '', answer.statusCode, true, streamUsage(tail), startedAt);
      } else {
        const text = Buffer.from(await answer.body.arrayBuffer());
        res.writeHead(answer.statusCode, { 'content-type': type, 'content-length': text.length });
        res.end(text);
        const usage = (JSON.parse(text.toString()) as { usage?: Usage }).usage;
        log('chat.completions', parsed.model ?? '', answer.statusCode, false, usage, startedAt);
      }
    })().catch(() => res.destroy());
  });
});
server.keepAliveTimeout = 65_000;
server.on('error', (err) => (console.error(`logging pass-through could not start: ${err.message}`), process.exit(1)));
server.listen(Number(process.env['PORT'] || 0), process.env['HOST'] || '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(`logging pass-through listening on http://${address}:${port}/v1`);
});
// Stopped by the bench: what is queued goes in first.
process.once('SIGTERM', () => void flush().finally(() => process.exit(0)));
