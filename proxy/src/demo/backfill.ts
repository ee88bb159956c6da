import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { CallLogWriter, type CacheStatus, type CallLogRow } from '../log/callLog.js';
import type { Pool } from '../db/pool.js';
import { costUsd, loadPriceTable, type PriceTable } from '../pricing/cost.js';
import type { Usage } from '../usage/types.js';
import { createRng, type Rng } from './random.js';
import { demoTenantIds } from './tenants.js';

/**
 * `npm run demo:backfill`: a month of plausible history written straight into openai_call_log,
 * persona_cache and request_log, so every Grafana panel has a shape on first open.
 *
 * Idempotent: every row it writes carries the `backfill-` prefix (request_id, input_hash,
 * request_hash), and one transaction deletes the previous backfill's rows before inserting, so
 * running it twice leaves one copy. Each day's rows come from a PRNG seeded with the date, so a
 * rerun on the same day writes identical rows.
 */

export const BACKFILL_PREFIX = 'backfill-';

/** Endpoint names as the proxy logs them (endpointOf / the /api routes). */
export const BACKFILL_ENDPOINTS = [
  'chat.completions',
  'chat.stream',
  'personas.generate',
  'embeddings',
  'responses',
  'images.generations',
] as const;
type Endpoint = (typeof BACKFILL_ENDPOINTS)[number];

interface EndpointProfile {
  weight: number;
  path: string;
  models: ReadonlyArray<readonly [string, number]>;
  /** Share of calls that ask for the response cache (opt-in for chat/responses, always on for personas/embeddings). */
  cacheOptIn: number;
  /** How good the cache gets for this endpoint once adopted (scales the month's hit-rate ramp). */
  hitFactor: number;
  streamShare: number;
  prompt: readonly [number, number];
  completion: readonly [number, number];
  /** Upstream time: fixed part plus per completion token (ms). */
  upstreamBaseMs: readonly [number, number];
  msPerToken: number;
}

const PROFILES: Record<Endpoint, EndpointProfile> = {
  'chat.completions': {
    weight: 0.36, path: '/v1/chat/completions', cacheOptIn: 0.45, hitFactor: 0.8, streamShare: 0.35,
    models: [['gpt-4o-mini', 0.55], ['gpt-4o', 0.2], ['gpt-4.1-mini', 0.15], ['o4-mini', 0.1]],
    prompt: [150, 2500], completion: [40, 700], upstreamBaseMs: [250, 700], msPerToken: 9,
  },
  'chat.stream': {
    weight: 0.1, path: '/api/chat/stream', cacheOptIn: 0, hitFactor: 0, streamShare: 1,
    models: [['gpt-4o-mini', 1]],
    prompt: [200, 1800], completion: [80, 600], upstreamBaseMs: [250, 600], msPerToken: 8,
  },
  'personas.generate': {
    weight: 0.16, path: '/api/personas/generate', cacheOptIn: 1, hitFactor: 1.3, streamShare: 0,
    models: [['gpt-4o-mini', 1]],
    prompt: [450, 900], completion: [1200, 3200], upstreamBaseMs: [500, 900], msPerToken: 4,
  },
  embeddings: {
    weight: 0.24, path: '/v1/embeddings', cacheOptIn: 1, hitFactor: 1, streamShare: 0,
    models: [['text-embedding-3-small', 0.8], ['text-embedding-3-large', 0.2]],
    prompt: [8, 1500], completion: [0, 0], upstreamBaseMs: [60, 350], msPerToken: 0,
  },
  responses: {
    weight: 0.1, path: '/v1/responses', cacheOptIn: 0.3, hitFactor: 0.6, streamShare: 0.2,
    models: [['gpt-4.1', 0.4], ['gpt-5-mini', 0.6]],
    prompt: [300, 4000], completion: [100, 1200], upstreamBaseMs: [400, 1200], msPerToken: 10,
  },
  'images.generations': {
    weight: 0.04, path: '/v1/images/generations', cacheOptIn: 0, hitFactor: 0, streamShare: 0,
    models: [['dall-e-3', 0.6], ['gpt-image-1', 0.4]],
    prompt: [0, 0], completion: [0, 0], upstreamBaseMs: [6000, 16000], msPerToken: 0,
  },
};

const REASONING_MODELS = new Set(['o4-mini', 'gpt-5-mini']);
const ERRORS: ReadonlyArray<readonly [{ status: number; type: string }, number]> = [
  [{ status: 429, type: 'rate_limit_exceeded' }, 0.5],
  [{ status: 500, type: 'server_error' }, 0.25],
  [{ status: 503, type: 'service_unavailable' }, 0.25],
];
// Busier in the (UTC) working day of the demo's customers, quiet at night.
const HOUR_WEIGHTS: ReadonlyArray<readonly [number, number]> = Array.from({ length: 24 }, (_, h) => {
  const w = h >= 13 && h <= 22 ? 10 : h >= 8 && h <= 23 ? 5 : 1.2;
  return [h, w] as const;
});

export interface BackfillOptions {
  /** How many whole UTC days before today to fill (default 30). Today is left to live traffic. */
  days?: number;
  /** Average calls on a weekday at the end of the month (default 400); earlier days ramp up to it. */
  callsPerDay?: number;
  now?: Date;
  prices?: PriceTable;
  /** PERSONA_CACHE_TTL_SECONDS and IDEMPOTENCY_TTL_SECONDS of the proxy, for expires_at. */
  personaTtlSeconds?: number;
  idempotencyTtlSeconds?: number;
}

export interface BackfillResult {
  callLog: number;
  personaCache: number;
  requestLog: number;
  days: number;
  firstDay: string;
  lastDay: string;
}

interface PersonaRow {
  inputHash: string;
  personas: unknown[];
  createdAt: Date;
  tenant: string;
  model: string;
  costUsd: number | null;
  hitCount: number;
  lastHitAt: Date | null;
  expiresAt: Date;
}

interface RequestLogRow {
  requestHash: string;
  tenant: string;
  keyHash: string | null;
  fingerprint: string;
  path: string;
  endpoint: string;
  createdAt: Date;
  completedAt: Date;
  expiresAt: Date;
  costUsd: number | null;
  /** null once the replay window has passed: cleanup keeps the row but drops the stored response. */
  responseJson: unknown;
  replayCount: number;
  lastReplayedAt: Date;
}

const DAY_MS = 86_400_000;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** The UTC midnights of the `days` whole days before `now`'s day, oldest first. */
export function backfillDays(now: Date, days: number): Date[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: days }, (_, i) => new Date(today - (days - i) * DAY_MS));
}

function usageFor(rng: Rng, endpoint: Endpoint, model: string): Usage {
  const p = PROFILES[endpoint];
  if (endpoint === 'images.generations') {
    const images = model === 'dall-e-3'
      ? { count: 1, size: rng.pick(['1024x1024', '1024x1024', '1792x1024']), quality: rng.pick(['standard', 'standard', 'hd']) }
      : { count: rng.int(1, 2), size: '1024x1024', quality: rng.pick(['low', 'medium', 'medium', 'high']) };
    return { promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, totalTokens: 0, images, source: 'estimated' };
  }
  const promptTokens = rng.int(p.prompt[0], p.prompt[1]);
  const completionTokens = rng.int(p.completion[0], p.completion[1]);
  // OpenAI's prompt cache only applies from 1024 prompt tokens, in 128-token steps.
  const cachedTokens = promptTokens >= 1024 && rng.chance(0.3) ? Math.floor((promptTokens * rng.next() * 0.8) / 128) * 128 : 0;
  const reasoningTokens = REASONING_MODELS.has(model) ? Math.floor(completionTokens * (0.3 + rng.next() * 0.5)) : 0;
  return { promptTokens, completionTokens, cachedTokens, reasoningTokens, totalTokens: promptTokens + completionTokens, source: 'reported' };
}

/** Personas in the shape the proxy stores (personas/schema.ts `Persona`). */
function fakePersonas(rng: Rng, n: number): unknown[] {
  const names = ['Maya', 'Jordan', 'Priya', 'Luis', 'Chen', 'Amara', 'Noah', 'Sofia', 'Ibrahim', 'Elena', 'Kai', 'Grace'];
  const jobs = ['operations lead', 'nurse', 'teacher', 'small-business owner', 'engineer', 'retiree', 'sales manager', 'student'];
  const places = ['Austin, TX', 'Sacramento, CA', 'Columbus, OH', 'Denver, CO', 'Tampa, FL', 'Brooklyn, NY'];
  const goals = ['save for a house', 'lower monthly bills', 'protect the family', 'plan retirement', 'grow the business'];
  const pains = ['too many calls from agents', 'confusing pricing', 'no time to compare offers', 'was burned by fees before'];
  const channels = ['email', 'SMS', 'phone', 'WhatsApp', 'LinkedIn'];
  return Array.from({ length: n }, () => {
    const occupation = rng.pick(jobs);
    const goal = rng.pick(goals);
    return {
      name: rng.pick(names),
      age: rng.int(22, 71),
      occupation,
      location: rng.pick(places),
      summary: `A ${occupation} who wants to ${goal}.`,
      goals: [goal],
      painPoints: [rng.pick(pains)],
      preferredChannels: [rng.pick(channels), rng.pick(channels)].filter((c, i, all) => all.indexOf(c) === i),
    };
  });
}

/** Everything one day contributes, from that day's own PRNG. */
export function generateDay(
  day: Date,
  dayIndex: number,
  totalDays: number,
  opts: { callsPerDay: number; prices: PriceTable; now: Date; personaTtlMs: number; idempotencyTtlMs: number },
): { calls: CallLogRow[]; personas: PersonaRow[]; requests: RequestLogRow[] } {
  const date = isoDay(day);
  const rng = createRng(`tollgate-backfill-${date}`);
  const progress = totalDays > 1 ? dayIndex / (totalDays - 1) : 1;
  const weekend = day.getUTCDay() === 0 || day.getUTCDay() === 6;
  // Adoption grows over the month; so does the share of calls the caches absorb.
  const volume = opts.callsPerDay * (0.6 + 0.4 * progress) * (weekend ? 0.4 : 1) * (0.85 + rng.next() * 0.3);
  const count = Math.max(BACKFILL_ENDPOINTS.length, Math.round(volume));
  const hitRamp = 0.12 + 0.33 * progress;
  const tenants = demoTenantIds().map((t) => [t.tenant, t.weight] as const);
  const endpoints = BACKFILL_ENDPOINTS.map((e) => [e, PROFILES[e].weight] as const);

  const calls: CallLogRow[] = [];
  const personas: PersonaRow[] = [];
  const requests: RequestLogRow[] = [];
  for (let i = 0; i < count; i++) {
    // The first few rows of a day cycle through every endpoint, so even a tiny backfill has them all.
    const endpoint: Endpoint = i < BACKFILL_ENDPOINTS.length ? BACKFILL_ENDPOINTS[i]! : rng.weighted(endpoints);
    const p = PROFILES[endpoint];
    const model = rng.weighted(p.models);
    const tenant = rng.weighted(tenants);
    const hour = rng.weighted(HOUR_WEIGHTS);
    const createdAt = new Date(day.getTime() + hour * 3_600_000 + rng.int(0, 3_599_999));
    const requestId = `${BACKFILL_PREFIX}${date}-${String(i).padStart(5, '0')}`;
    const stream = rng.chance(p.streamShare);
    const usage = usageFor(rng, endpoint, model);
    const fullCost = costUsd(opts.prices, model, usage);

    let cacheStatus: CacheStatus;
    let statusCode = 200;
    let errorType: string | null = null;
    let clientAborted = false;
    const optIn = rng.chance(p.cacheOptIn);
    const r = rng.next();
    if (r < 0.015) {
      const e = rng.weighted(ERRORS);
      statusCode = e.status;
      errorType = e.type;
      cacheStatus = optIn ? 'miss' : 'bypass';
    } else if (optIn && r < 0.015 + hitRamp * p.hitFactor) {
      cacheStatus = 'hit';
    } else if (r > 0.95 && endpoint !== 'chat.stream') {
      cacheStatus = 'idempotent_replay';
    } else if (r > 0.93 && r <= 0.95 && endpoint !== 'images.generations') {
      cacheStatus = 'coalesced';
    } else {
      cacheStatus = optIn ? 'miss' : 'bypass';
      clientAborted = stream && rng.chance(0.03);
    }

    const served = cacheStatus === 'hit' || cacheStatus === 'idempotent_replay' || cacheStatus === 'coalesced';
    const failed = statusCode >= 400;
    const calledUpstream = !served || cacheStatus === 'coalesced';
    const upstreamMs = failed
      ? rng.int(40, 900)
      : Math.round(rng.int(p.upstreamBaseMs[0], p.upstreamBaseMs[1]) + usage.completionTokens * p.msPerToken * (0.6 + rng.next() * 0.8));
    const overhead = rng.int(2, 18);
    let latencyMs: number;
    let ttfbMs: number;
    if (cacheStatus === 'hit' || cacheStatus === 'idempotent_replay') {
      latencyMs = rng.int(2, 25);
      ttfbMs = Math.max(1, latencyMs - rng.int(0, 2));
    } else {
      // A coalesced follower waits for the leader's upstream call, so it is as slow as a miss.
      latencyMs = (clientAborted ? Math.round(upstreamMs * rng.next()) : upstreamMs) + overhead;
      ttfbMs = stream && !failed ? Math.min(latencyMs, rng.int(180, 900)) : latencyMs;
    }
    // An aborted stream is billed for what was generated before the client went away.
    const billedUsage: Usage = clientAborted
      ? { ...usage, completionTokens: Math.floor(usage.completionTokens * 0.4), totalTokens: usage.promptTokens + Math.floor(usage.completionTokens * 0.4), source: 'estimated' }
      : usage;
    const cost = served || failed ? 0 : clientAborted ? costUsd(opts.prices, model, billedUsage) : fullCost;
    const upstreamRequestId = calledUpstream && cacheStatus !== 'coalesced' ? `req_${sha(requestId).slice(0, 32)}` : null;
    const hasUsage = !failed;

    calls.push({
      endpoint,
      model,
      tokensPrompt: hasUsage ? billedUsage.promptTokens : null,
      tokensCompletion: hasUsage ? billedUsage.completionTokens : null,
      costUsd: cost,
      createdAt,
      requestId,
      upstreamRequestId,
      tenant,
      method: 'POST',
      path: p.path,
      statusCode,
      stream,
      cacheStatus,
      tokensCached: hasUsage ? billedUsage.cachedTokens : null,
      tokensReasoning: hasUsage ? billedUsage.reasoningTokens : null,
      costSavedUsd: served ? (fullCost ?? 0) : 0,
      latencyMs,
      ttfbMs,
      upstreamMs: calledUpstream && cacheStatus !== 'coalesced' ? upstreamMs : null,
      usageSource: hasUsage ? billedUsage.source : 'none',
      clientAborted,
      errorType,
    });

    if (endpoint === 'personas.generate' && cacheStatus === 'miss' && !failed) {
      const hitCount = rng.chance(0.6) ? rng.int(1, 8) : 0;
      const lastHit = new Date(createdAt.getTime() + rng.int(60_000, 10 * DAY_MS));
      personas.push({
        inputHash: `${BACKFILL_PREFIX}${sha(requestId)}`,
        personas: fakePersonas(rng, rng.int(4, 12)),
        createdAt,
        tenant,
        model,
        costUsd: cost,
        hitCount,
        lastHitAt: hitCount > 0 && lastHit < opts.now ? lastHit : null,
        expiresAt: new Date(createdAt.getTime() + opts.personaTtlMs),
      });
    }

    // The first request of a replayed pair is stored in request_log. Once its replay window
    // (IDEMPOTENCY_TTL) has passed, cleanup drops the stored response but keeps the row for the
    // history panels (REQUEST_LOG_RETENTION_DAYS), so older rows are written the same way.
    if (cacheStatus === 'idempotent_replay') {
      const firstAt = new Date(createdAt.getTime() - rng.int(1_000, 600_000));
      const expiresAt = new Date(firstAt.getTime() + opts.idempotencyTtlMs);
      const withKey = rng.chance(0.6);
      requests.push({
        requestHash: `${BACKFILL_PREFIX}${sha(`${requestId}:first`)}`,
        tenant,
        keyHash: withKey ? sha(`${requestId}:key`) : null,
        fingerprint: sha(`${requestId}:body`),
        path: p.path,
        endpoint,
        createdAt: firstAt,
        completedAt: new Date(firstAt.getTime() + upstreamMs),
        expiresAt,
        costUsd: fullCost,
        responseJson:
          expiresAt > opts.now
            ? { object: 'backfill.placeholder', model, usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens } }
            : null,
        replayCount: rng.int(1, 3),
        lastReplayedAt: createdAt,
      });
    }
  }
  return { calls, personas, requests };
}

/** Runs the backfill in one transaction: its earlier rows out, the new month in. */
export async function backfill(pool: Pool, options: BackfillOptions = {}): Promise<BackfillResult> {
  const now = options.now ?? new Date();
  const daysN = options.days ?? 30;
  if (!Number.isInteger(daysN) || daysN < 1) throw new Error(`days must be a positive integer, got ${daysN}`);
  const gen = {
    callsPerDay: options.callsPerDay ?? 400,
    prices: options.prices ?? loadPriceTable(),
    now,
    personaTtlMs: (options.personaTtlSeconds ?? 30 * 86_400) * 1000,
    idempotencyTtlMs: (options.idempotencyTtlSeconds ?? 86_400) * 1000,
  };
  const days = backfillDays(now, daysN);
  const client = await pool.connect();
  // Call-log rows go through the proxy's own writer (same column mapping and batch INSERT), on
  // this transaction's connection: the writer only ever calls query() on what it is given. It
  // keeps a failed batch queued for a retry instead of throwing, so the error is caught here.
  let writeError: Error | undefined;
  let finished = false;
  const txn = {
    query: (...args: unknown[]) => {
      // After COMMIT/ROLLBACK a leftover batch must not be written outside the transaction.
      if (finished) return Promise.reject(new Error('backfill transaction is over'));
      return (client.query as (...a: unknown[]) => Promise<unknown>)(...args).catch((err: Error) => {
        writeError ??= err;
        throw err;
      });
    },
  };
  const writer = new CallLogWriter(txn as unknown as Pool, { batchSize: 1000, flushMs: 60_000, maxQueue: 1_000_000 });
  try {
    await client.query('BEGIN');
    // Two backfills started together would otherwise both delete nothing and both insert.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('tollgate-backfill'))");
    const like = `${BACKFILL_PREFIX}%`;
    await client.query('DELETE FROM openai_call_log WHERE request_id LIKE $1', [like]);
    await client.query('DELETE FROM persona_cache WHERE input_hash LIKE $1', [like]);
    await client.query('DELETE FROM request_log WHERE request_hash LIKE $1', [like]);

    let callLog = 0;
    let personaCache = 0;
    let requestLog = 0;
    for (const [i, day] of days.entries()) {
      const { calls, personas, requests } = generateDay(day, i, days.length, gen);
      for (const row of calls) writer.write(row);
      await writer.flush();
      if (writer.pending > 0 || writeError) throw new Error(`writing openai_call_log rows failed: ${writeError?.message ?? 'unknown error'}`);
      callLog += calls.length;
      personaCache += await insertPersonas(client, personas);
      requestLog += await insertRequests(client, requests);
    }
    await client.query('COMMIT');
    return { callLog, personaCache, requestLog, days: days.length, firstDay: isoDay(days[0]!), lastDay: isoDay(days[days.length - 1]!) };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    // Stops the writer's retry timer; with `finished` set, a leftover batch is dropped, not written.
    finished = true;
    await writer.close().catch(() => undefined);
    client.release();
  }
}

async function insertPersonas(client: pg.PoolClient, rows: PersonaRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await client.query(
    `INSERT INTO persona_cache (input_hash, personas_json, created_at, tenant, model, cost_usd, hit_count, last_hit_at, expires_at)
     SELECT * FROM unnest($1::text[], $2::jsonb[], $3::timestamptz[], $4::text[], $5::text[], $6::numeric[], $7::int[], $8::timestamptz[], $9::timestamptz[])
     ON CONFLICT (tenant, input_hash) DO NOTHING`,
    [
      rows.map((r) => r.inputHash),
      rows.map((r) => JSON.stringify(r.personas)),
      rows.map((r) => r.createdAt),
      rows.map((r) => r.tenant),
      rows.map((r) => r.model),
      rows.map((r) => r.costUsd),
      rows.map((r) => r.hitCount),
      rows.map((r) => r.lastHitAt),
      rows.map((r) => r.expiresAt),
    ],
  );
  return res.rowCount ?? 0;
}

async function insertRequests(client: pg.PoolClient, rows: RequestLogRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await client.query(
    `INSERT INTO request_log (request_hash, response_json, created_at, tenant, key_hash, fingerprint, method, path, endpoint,
                              state, status_code, content_type, cost_usd, completed_at, expires_at, replay_count, last_replayed_at)
     SELECT h, r, c, t, k, f, 'POST', p, e, 'completed', 200, 'application/json', cost, done, exp, n, last
     FROM unnest($1::text[], $2::jsonb[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                 $9::numeric[], $10::timestamptz[], $11::timestamptz[], $12::int[], $13::timestamptz[])
          AS u(h, r, c, t, k, f, p, e, cost, done, exp, n, last)
     ON CONFLICT (tenant, request_hash) DO NOTHING`,
    [
      rows.map((r) => r.requestHash),
      rows.map((r) => (r.responseJson === null ? null : JSON.stringify(r.responseJson))),
      rows.map((r) => r.createdAt),
      rows.map((r) => r.tenant),
      rows.map((r) => r.keyHash),
      rows.map((r) => r.fingerprint),
      rows.map((r) => r.path),
      rows.map((r) => r.endpoint),
      rows.map((r) => r.costUsd),
      rows.map((r) => r.completedAt),
      rows.map((r) => r.expiresAt),
      rows.map((r) => r.replayCount),
      rows.map((r) => r.lastReplayedAt),
    ],
  );
  return res.rowCount ?? 0;
}

async function main(): Promise<void> {
  const { loadConfig } = await import('../config.js');
  const { connectDatabase } = await import('../db/connect.js');
  const { migrate } = await import('../db/migrate.js');
  const config = loadConfig();
  const num = (name: string, fallback: number) => {
    const raw = process.env[name];
    const v = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return v;
  };
  const db = await connectDatabase(config);
  try {
    // The proxy migrates at start too; doing it here lets the backfill run before the proxy ever has.
    await migrate(db.pool);
    const started = Date.now();
    const r = await backfill(db.pool, {
      days: num('BACKFILL_DAYS', 30),
      callsPerDay: num('BACKFILL_CALLS_PER_DAY', 400),
      prices: loadPriceTable(config.PRICES_FILE),
      personaTtlSeconds: config.PERSONA_CACHE_TTL_SECONDS,
      idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    });
    console.log(
      `backfill: ${r.days} days (${r.firstDay} .. ${r.lastDay}): ${r.callLog} calls, ${r.personaCache} persona cache rows, ` +
        `${r.requestLog} request_log rows in ${((Date.now() - started) / 1000).toFixed(1)}s (previous backfill rows replaced)`,
    );
  } finally {
    await db.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`backfill failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
