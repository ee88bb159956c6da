/**
 * `npm run bench:sql [-- --rows 1000000] [--keep] [--reuse] [--db name] [--queries a,b] [--density 100000000
 * [--dense-days 7]] [--explain a,b] [--insert-rounds K] [--migrations-upto 024] [--queries-dir dir]`:
 * the call log at scale (the options after --queries are described where they are read).
 * Creates the database tollgate_bench next to BENCH_DATABASE_URL's (default
 * postgres://postgres@127.0.0.1:5432/postgres), migrates it, loads N calls (10 M by default) over
 * 90 days with one set-based INSERT ... SELECT generate_series (8 endpoints, 14 models tied to
 * them, 50 tenants with skewed traffic, the caches' rows alongside), folds the rollups, then:
 *   - runs every sql/queries file expanded with Grafana's macros for 24 h / 7 d / 30 d / 90 d
 *     ranges ending now (all variables on All, then one rare tenant, model, endpoint, app user or tag
 *     selected, for the queries that filter by it), best of 3;
 *   - opens the Overview: all its queries at once on separate connections, best of 3;
 *   - measures call-log inserts on top of the N rows, batches of 500 on one connection, three
 *     quarters of the rows with an app user and tags: the issue's batch INSERT (json_populate_recordset,
 *     ON CONFLICT DO NOTHING; the proxy's spool replays) and the proxy's COPY of fresh rows;
 *   - prints the table and the sizes. The database is dropped at the end unless --keep.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { MIGRATIONS_DIR, migrate } from '../../proxy/src/db/migrate.js';
import { COPY_SQL, INSERT_SQL, copyLine, rowJson, type CallLogRow } from '../../proxy/src/log/callLog.js';
import { ensurePartitionIndexes, foldCallLog, summarizeNewRanges } from '../../proxy/src/log/partitions.js';
import { expandQuery, type Variable } from '../grafana-macros.js';
import { queryNames, readQuery } from '../queries.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const ROWS = Number(flag('rows') ?? 10_000_000);
const KEEP = args.includes('--keep');
const REUSE = args.includes('--reuse');
const DB = flag('db') ?? 'tollgate_bench';
/** --queries a,b: only these sql/queries files (default: all). */
const ONLY = flag('queries')?.split(',');
/**
 * --density N [--dense-days D]: also load the most recent D days (7 by default) at the density of an
 * N-row log over 90 days, on top of the ROWS spread over 90 days: the extra rows are
 * (N - ROWS) / 90 a day. With N = 100,000,000 that is 1.1 M rows a day over the last week (about 7 M
 * rows more): the 24 h and 7 d panels and every query that reads raw rows (call lists, partial
 * hours, alert windows) run at the density of a 100 M-row log, in a fraction of its load time.
 * Loaded once: a --reuse run with the flag adds them to a database that has none yet.
 */
const DENSITY = flag('density') ? Number(flag('density')) : undefined;
const DENSE_DAYS = Number(flag('dense-days') ?? 7);
/** --explain a,b: EXPLAIN (ANALYZE, BUFFERS) of these queries, all on All, at 24 h and 90 d. */
const EXPLAIN = flag('explain')?.split(',');
/**
 * --migrations-upto NNN: apply only the migrations named before NNN (e.g. 024), to measure a schema
 * before a change next to one after it. --queries-dir DIR: read the queries from DIR instead of
 * sql/queries (the files of another version).
 */
const UPTO = flag('migrations-upto');
const QUERIES_DIR = flag('queries-dir');
const names0 = (): string[] => (QUERIES_DIR
  ? readdirSync(QUERIES_DIR).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -4)).sort()
  : queryNames());
const query = (name: string): string => (QUERIES_DIR ? readFileSync(join(QUERIES_DIR, `${name}.sql`), 'utf8') : readQuery(name));
/** --insert-rounds K: measure the inserts K times (each 40 batches of 500 after 4 of warm-up). */
const INSERT_ROUNDS = Number(flag('insert-rounds') ?? 1);
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The Overview page's queries (plugin/src/pages/overview.ts). */
export const OVERVIEW = [
  'stat_total_cost', 'stat_calls', 'stat_hit_ratio', 'stat_cost_saved', 'costs_daily_by_endpoint',
  'persona_cache_daily', 'stored_responses_daily', 'cost_by_model', 'hit_ratio', 'persona_hit_ratio',
];
const RANGES: Array<[string, number]> = [['24h', 1], ['7d', 7], ['30d', 30], ['90d', 90]];

/**
 * Calls i = first..last, spread evenly over the `days` days before now (call `first` newest).
 */
async function loadCalls(c: pg.PoolClient, first: number, last: number, days: number): Promise<void> {
  const n = last - first + 1;
    // Endpoints and the models each serves; tenants skewed (tenant k gets ~1/(k+1) of the traffic).
    // Attribution, failures and latencies as a proxy sees them: three quarters of the calls carry an
    // app user (two per endpoint in each tenant, a service and its batch job) whose tags go with it
    // (a team per endpoint, job:batch for the batch job); 1.5 % 5xx, 1 % 429, 0.5 % 400, 0.5 %
    // abandoned (499); latencies log-normal (median 600 ms, hits ~15 ms), time to first byte for
    // streams, upstream time for calls that went upstream. One value of each filter is rare (0.05 %
    // of the calls each): the endpoint audio.speech, the model gpt-4.1-nano, the app user svc-rare,
    // the tag exp:canary; the rarest tenant, t_49, has about 1 %.
    await c.query(`
      INSERT INTO openai_call_log (endpoint, model, tokens_prompt, tokens_completion, cost_usd, created_at,
        request_id, tenant, status_code, stream, cache_status, cost_saved_usd, latency_ms, ttfb_ms, upstream_ms, usage_source,
        client_aborted, app_user, tags)
      SELECT CASE WHEN i % 2000 = 1 THEN 'audio.speech' ELSE e.endpoint END,
             CASE WHEN i % 2000 = 1 THEN 'gpt-4o-mini-tts' WHEN i % 2000 = 2 THEN 'gpt-4.1-nano'
                  ELSE e.models[1 + (i / 7) % array_length(e.models, 1)] END,
             100 + i % 900, 10 + i % 400,
             CASE WHEN i % 97 = 0 THEN NULL ELSE ((i % 1000) * 0.0000123)::numeric(18,10) END,
             now() - ((i - ${first})::float8 / ${n}) * interval '${days} days',
             'bench-' || i, 't_' || lpad(floor(50 * power(random(), 2))::int::text, 2, '0'), f.status_code, i % 3 = 0,
             s.status, CASE WHEN s.status IN ('hit','idempotent_replay','coalesced') THEN (i % 1000) * 0.0000123 ELSE 0 END,
             l.latency, CASE WHEN i % 3 = 0 THEN least(l.latency, l.ttfb) END,
             CASE WHEN s.status IN ('miss', 'bypass') THEN greatest(l.latency - l.overhead, 0) END, 'reported',
             f.status_code = 499,
             CASE WHEN i % 2000 = 3 THEN 'svc-rare' WHEN a.r < 0.25 THEN NULL
                  ELSE replace(e.endpoint, '.', '-') || CASE WHEN a.batch THEN '-batch' ELSE '' END END,
             CASE WHEN i % 2000 = 4 THEN ARRAY['exp:canary'] WHEN a.r < 0.25 THEN NULL
                  WHEN a.batch THEN ARRAY['job:batch', 'team:' || e.team] ELSE ARRAY['team:' || e.team] END
      FROM generate_series(${first}, ${last}) AS i
      CROSS JOIN LATERAL (SELECT (ARRAY['chat.completions','chat.stream','personas.generate','embeddings','responses',
                                        'images.generations','audio.transcriptions','moderations'])[1 + i % 8] AS endpoint,
        (ARRAY['search','search','growth','search','assistant','creative','voice','trust'])[1 + i % 8] AS team,
        CASE i % 8 WHEN 0 THEN ARRAY['gpt-4o-mini','gpt-4o','gpt-4.1-mini','o4-mini'] WHEN 1 THEN ARRAY['gpt-4o-mini']
                   WHEN 2 THEN ARRAY['gpt-4o-mini'] WHEN 3 THEN ARRAY['text-embedding-3-small','text-embedding-3-large']
                   WHEN 4 THEN ARRAY['gpt-4.1','gpt-5-mini','gpt-5'] WHEN 5 THEN ARRAY['dall-e-3','gpt-image-1']
                   WHEN 6 THEN ARRAY['whisper-1'] ELSE ARRAY['omni-moderation-latest'] END AS models) e
      CROSS JOIN LATERAL (SELECT (ARRAY['miss','hit','idempotent_replay','coalesced','bypass','miss','hit','miss','external','bypass'])[1 + (i / 3) % 10] AS status) s
      CROSS JOIN LATERAL (SELECT random() + 0 * i AS r, random() < 0.3 AS batch) a
      CROSS JOIN LATERAL (SELECT CASE WHEN u < 0.015 THEN 502 WHEN u < 0.025 THEN 429 WHEN u < 0.03 THEN 400
                                      WHEN u < 0.035 THEN 499 ELSE 200 END AS status_code
                            FROM (SELECT random() + 0 * i AS u) x) f
      CROSS JOIN LATERAL (SELECT CASE WHEN s.status IN ('hit', 'idempotent_replay') THEN round(15 * exp(0.5 * z1))
                                      WHEN s.status = 'external' THEN NULL
                                      ELSE round(600 * exp(0.8 * z1)) END::int AS latency,
                                 round(300 * exp(0.6 * z2))::int AS ttfb, round(2 + 4 * exp(0.7 * z2))::int AS overhead
                            FROM (SELECT sqrt(-2 * ln(1 - random() + 0 * i)) * cos(2 * pi() * random()) AS z1,
                                         sqrt(-2 * ln(1 - random() + 0 * i)) * sin(2 * pi() * random()) AS z2) g) l`);
}

async function load(pool: pg.Pool): Promise<void> {
  const t0 = Date.now();
  const c = await pool.connect();
  try {
    // The day partitions a proxy running for 90 days would have created ahead.
    await c.query('SELECT tollgate_call_log_create_partition(now() - make_interval(days => d)) FROM generate_series(0, 91) AS d');
    await loadCalls(c, 1, ROWS, 90);
  } catch (err) {
    c.release();
    throw err;
  }
  const personas = Math.round(ROWS / 40);
  const requests = Math.round(ROWS / 50);
  await c.query(`
    INSERT INTO persona_cache (input_hash, personas_json, created_at, tenant, model, cost_usd, hit_count, expires_at)
    SELECT 'h' || i, '[]', now() - (i::float8 / ${personas}) * interval '30 days', 't_' || lpad((i % 50)::text, 2, '0'),
           'gpt-4o-mini', 0.01, i % 97, now() + interval '30 days'
    FROM generate_series(1, ${personas}) AS i`);
  await c.query(`
    INSERT INTO request_log (request_hash, created_at, tenant, fingerprint, path, endpoint, expires_at, state)
    SELECT 'r' || i, now() - (i::float8 / ${requests}) * interval '90 days', 't_' || lpad((i % 50)::text, 2, '0'), 'f',
           '/v1/chat/completions', 'chat.completions', now() + interval '1 day', 'completed'
    FROM generate_series(1, ${requests}) AS i`);
  await c.query(`
    INSERT INTO response_cache (tenant, cache_key, path, endpoint, model, status_code, response_json, cost_usd, expires_at, hit_count, created_at)
    SELECT 't_' || lpad((i % 50)::text, 2, '0'), 'k' || i, '/v1/embeddings', 'embeddings', 'text-embedding-3-small', 200, '{}',
           0.001, now() + interval '1 day', i % 501, now() - (i % 3600) * interval '1 second'
    FROM generate_series(1, ${Math.round(ROWS / 1000)}) AS i`);
  c.release();
  const t1 = Date.now();
  console.log(`loaded ${ROWS} calls in ${((t1 - t0) / 1000).toFixed(1)} s`);
  await foldAndAnalyze(pool);
}

/** What a loaded bench database needs before it is measured: the rollups folded, the statistics fresh. */
async function foldAndAnalyze(pool: pg.Pool): Promise<void> {
  const t1 = Date.now();
  const folded = await foldCallLog(pool, 1_000_000);
  const t2 = Date.now();
  console.log(`folded ${folded} pending deltas in ${((t2 - t1) / 1000).toFixed(1)} s`);
  // Folding a bulk load in steps of a million deltas rewrites every rollup row once a step (13 times
  // for 10 M calls, no VACUUM in between): the rollups end 5-7 times their live size, which a live
  // proxy's (folded every few seconds, vacuumed as they go) never are, and every sequential scan
  // reads the dead rows too (perf_by_endpoint_model at 90 days: 121 ms bloated, 61 ms compact).
  // Rewritten compact, as a live system's are.
  const { rows } = await pool.query<{ name: string }>(
    `SELECT relname AS name FROM pg_class WHERE relkind = 'r' AND relname ~ '^call_log_([a-z]+_)*(hourly|daily)$' ORDER BY 1`,
  );
  for (const { name } of rows) await pool.query(`VACUUM FULL ${name}`);
  const t3 = Date.now();
  console.log(`vacuum full of ${rows.length} rollup tables ${((t3 - t2) / 1000).toFixed(1)} s`);
  await pool.query('VACUUM ANALYZE');
  console.log(`vacuum analyze ${((Date.now() - t3) / 1000).toFixed(1)} s`);
}

/** --density: the extra rows of the last DENSE_DAYS days (request ids bench-<i>, i after ROWS). */
async function loadDense(pool: pg.Pool, density: number): Promise<void> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM openai_call_log WHERE request_id = 'bench-' || $1::text AND created_at > now() - interval '${DENSE_DAYS + 1} days'`,
    [ROWS + 1],
  );
  if (Number(rows[0]?.n) > 0) return;
  const extra = Math.round(((density - ROWS) / 90) * DENSE_DAYS);
  const t0 = Date.now();
  const c = await pool.connect();
  try {
    await c.query('SET TIME ZONE UTC');
    await c.query('SELECT tollgate_call_log_create_partition(now() - make_interval(days => d)) FROM generate_series(0, 8) AS d');
    await loadCalls(c, ROWS + 1, ROWS + extra, DENSE_DAYS);
  } finally {
    c.release();
  }
  const t1 = Date.now();
  console.log(`loaded ${extra} more calls over the last ${DENSE_DAYS} days (the density of ${density} calls over 90 days) in ${((t1 - t0) / 1000).toFixed(1)} s`);
  await foldAndAnalyze(pool);
}

/** The filter bar's scenarios: everything on All, then one rare value of one filter at a time. */
const SCENARIOS: Array<[string, string | undefined, string | undefined]> = [
  ['', undefined, undefined],
  [' (tenant t_49)', 'tenant', 't_49'],
  [' (model gpt-4.1-nano)', 'model', 'gpt-4.1-nano'],
  [' (endpoint audio.speech)', 'endpoint', 'audio.speech'],
  [' (app user svc-rare)', 'app_user', 'svc-rare'],
  [' (tag exp:canary)', 'tag', 'exp:canary'],
];

async function variables(pool: pg.Pool, name?: string, value?: string): Promise<Record<string, Variable>> {
  const all = (): Variable => ({ value: [], multi: true, includeAll: true, all: true, allValue: "'__all'" });
  const vars: Record<string, Variable> = { endpoint: all(), model: all(), tenant: all(), app_user: all(), tag: all() };
  if (name && value) vars[name] = { value: [value], multi: true, includeAll: true };
  const id = (await pool.query("SELECT id::text FROM openai_call_log WHERE endpoint = 'embeddings' ORDER BY created_at DESC LIMIT 1")).rows[0]?.id as string;
  return {
    ...vars,
    drill_endpoint: { value: 'chat.completions' },
    drill_model: { value: 'gpt-4o' },
    drill_tenant: { value: 't_00' },
    call_id: { value: id ?? randomUUID() },
  };
}

async function timed(pool: pg.Pool, sql: string): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await pool.query(sql);
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

/** Rows as the proxy writes them: three quarters attributed like the loaded calls (their indexes and rollups cost what they cost). */
function insertRows(n: number): CallLogRow[] {
  return Array.from({ length: n }, (_, i) => ({
    endpoint: 'chat.completions', model: 'gpt-4o-mini', tokensPrompt: 300 + i, tokensCompletion: 90, costUsd: 0.000123,
    createdAt: new Date(), requestId: `insert-bench-${randomUUID()}`, upstreamRequestId: null, tenant: `t_${String(i % 50).padStart(2, '0')}`,
    method: 'POST', path: '/v1/chat/completions', statusCode: 200, stream: false, cacheStatus: i % 3 ? 'miss' : 'hit',
    tokensCached: null, tokensReasoning: null, costSavedUsd: 0, latencyMs: 420, ttfbMs: 120, upstreamMs: 400,
    usageSource: 'reported', clientAborted: false, errorType: null,
    appUser: i % 4 === 0 ? null : i % 4 === 3 ? 'chat-completions-batch' : 'chat-completions',
    tags: i % 4 === 0 ? null : i % 4 === 3 ? ['job:batch', 'team:search'] : ['team:search'],
  }));
}

/**
 * Call-log inserts in batches of 500 on one connection, rows/s: 'json' is the measure (the
 * batch INSERT ... SELECT FROM json_populate_recordset ... ON CONFLICT DO NOTHING, what the proxy
 * sends for spool replays); 'copy' is what the proxy sends for fresh rows (COPY FROM STDIN, the
 * lines of proxy/src/log/callLog.ts's copyLine).
 */
async function inserts(pool: pg.Pool, batches: number, how: 'json' | 'copy'): Promise<number> {
  const payloads = Array.from({ length: batches }, () => insertRows(500));
  const lines = payloads.map((rows) => rows.map(copyLine).join(''));
  const jsons = payloads.map((rows) => `[${rows.map(rowJson).join(',')}]`);
  const c = await pool.connect();
  try {
    const t = performance.now();
    for (let b = 0; b < batches; b++) {
      if (how === 'json') {
        await c.query(INSERT_SQL, [jsons[b]]);
      } else {
        await new Promise<void>((resolve, reject) => {
          const stream = c.query(copyFrom(COPY_SQL));
          stream.on('finish', resolve);
          stream.on('error', reject);
          stream.end(lines[b]);
        });
      }
    }
    return (batches * 500) / ((performance.now() - t) / 1000);
  } finally {
    c.release();
  }
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  if (!REUSE) {
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB}`);
  }
  const url = new URL(adminUrl);
  url.pathname = `/${DB}`;
  const setup = new pg.Pool({ connectionString: url.toString(), max: 1 });
  let applied: string[];
  let jit: string | null | undefined;
  try {
    if (UPTO) {
      const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-mig-'));
      for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql') && f < UPTO)) copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f));
      try {
        ({ applied } = await migrate(setup, dir));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } else {
      ({ applied } = await migrate(setup));
    }
    // The Grafana role's jit setting (migration 021), for every connection below: the bench connects
    // as the owner, whose sessions would JIT-compile what Grafana's never do.
    jit = (await setup.query<{ jit: string | null }>(
      `SELECT (SELECT split_part(c, '=', 2) FROM pg_db_role_setting s, unnest(s.setconfig) AS c
                WHERE s.setrole = 'tollgate_grafana'::regrole AND s.setdatabase = 0 AND c LIKE 'jit=%') AS jit`,
    )).rows[0]?.jit;
  } finally {
    await setup.end();
  }
  const pool = new pg.Pool({ connectionString: url.toString(), max: 12, options: jit === 'off' ? '-c jit=off' : undefined });
  try {
    await pool.query('SET TIME ZONE UTC');
    if (!REUSE) await load(pool);
    if (DENSITY) await loadDense(pool, DENSITY);
    // What the proxy's partition maintenance does for partitions created before migrations 021 and
    // 024 (not for an older schema measured with --migrations-upto: its proxy had fewer indexes).
    const built = UPTO ? [] : await ensurePartitionIndexes(pool);
    if (built.length) console.log(`built ${built.length} tenant indexes on existing partitions`);
    if (REUSE && applied.length) {
      const t = Date.now();
      await pool.query('VACUUM ANALYZE');
      console.log(`migrated ${applied.join(', ')}; vacuum analyze ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    // What the proxy's maintenance does every few seconds: a --reuse run finds today's partition
    // with the pages the last run's insert measurement wrote (and deleted) not summarized.
    await summarizeNewRanges(pool);
    const now = new Date();
    const names = names0().filter((n) => !ONLY || ONLY.includes(n));
    console.log(`\n| query (ms, best of 3) | ${RANGES.map(([r]) => r).join(' | ')} |\n|---|${RANGES.map(() => '---').join('|')}|`);
    for (const [label, variable, value] of SCENARIOS) {
      const vars = await variables(pool, variable, value);
      // A scenario only for the queries its filter reaches.
      for (const name of names.filter((n) => !variable || query(n).includes(`$${variable}`))) {
        const cells = [`${name}${label}`];
        for (const [, days] of RANGES) {
          const range = { from: new Date(now.getTime() - days * 86_400_000), to: now };
          cells.push((await timed(pool, expandQuery(query(name), { range, variables: vars }))).toFixed(1));
        }
        console.log(`| ${cells.join(' | ')} |`);
      }
    }
    const vars = await variables(pool);
    for (const name of EXPLAIN ?? []) {
      for (const days of [1, 90]) {
        const range = { from: new Date(now.getTime() - days * 86_400_000), to: now };
        const sql = expandQuery(query(name), { range, variables: vars });
        const plan = (await pool.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`)).rows.map((r: Record<string, string>) => r['QUERY PLAN']);
        console.log(`\nEXPLAIN (ANALYZE, BUFFERS) ${name}, ${days === 1 ? '24h' : '90d'}, all on All:\n${plan.join('\n')}`);
      }
    }
    for (const [label, days] of RANGES) {
      const range = { from: new Date(now.getTime() - days * 86_400_000), to: now };
      const sqls = OVERVIEW.map((n) => expandQuery(query(n), { range, variables: vars }));
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await Promise.all(sqls.map((s) => pool.query(s)));
        best = Math.min(best, performance.now() - t);
      }
      console.log(`Overview open, ${OVERVIEW.length} queries at once, ${label}: ${best.toFixed(0)} ms`);
    }
    for (const how of ['json', 'copy'] as const) {
      const rates: number[] = [];
      for (let r = 0; r < INSERT_ROUNDS; r++) {
        await inserts(pool, 4, how); // warm-up
        rates.push(await inserts(pool, 40, how));
      }
      const sorted = [...rates].sort((a, b) => a - b);
      console.log(`call-log inserts, ${how === 'json' ? 'json_populate_recordset' : 'COPY'} batches of 500: ` +
        `${Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0)} rows/s` +
        (rates.length > 1 ? ` (median of ${rates.length}: ${rates.map((x) => Math.round(x)).join(', ')})` : ''));
    }
    // Taken out again: 22,000 calls in the current hour would weigh on the next --reuse run's
    // partial-hour reads, at 5 times the loaded rate.
    await pool.query(`DELETE FROM openai_call_log WHERE request_id LIKE 'insert-bench-%' AND created_at >= now() - interval '1 day'`);
    await foldCallLog(pool);
    const size = (await pool.query(`SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS s,
        pg_size_pretty(sum(pg_indexes_size(c.oid))) AS i
      FROM pg_class c WHERE c.relname LIKE 'openai_call_log%' AND c.relkind = 'r'`)).rows[0] as { s: string; i: string };
    const roll = (await pool.query(`SELECT (SELECT count(*) FROM call_log_hourly) AS h, (SELECT count(*) FROM call_log_daily) AS d,
        pg_size_pretty(pg_total_relation_size('call_log_hourly') + pg_total_relation_size('call_log_daily')) AS s,
        (SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c
          WHERE c.relkind = 'r' AND (c.relname LIKE 'call\\_log\\_%' OR c.relname LIKE 'cache\\_entries\\_%')) AS a`)).rows[0] as Record<string, string>;
    console.log(`call log: ${size.s} (indexes ${size.i}); rollups: ${roll.h} hourly + ${roll.d} daily rows, ${roll.s}; all rollups (attribution, latency, cache entries too) ${roll.a}`);
  } finally {
    await pool.end();
    if (!KEEP) await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
