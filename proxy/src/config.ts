import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

const CACHEABLE = ['chat.completions', 'responses', 'embeddings', '*'];

// Node turns a timer delay above 2^31 - 1 ms (about 24.8 days) into 1 ms: refuse it instead.
const MAX_TIMER_MS = 2_147_483_647;
const ms = (min: number) => z.coerce.number().int().min(min).max(MAX_TIMER_MS);

// Lifetimes are added to now() in SQL; past the timestamp range every write would fail.
const secs = (min: number) => z.coerce.number().int().min(min).max(100 * 365 * 24 * 3600);

const httpUrl = z
  .string()
  .url()
  .refine((v) => /^https?:\/\//i.test(v), { message: 'expected an http:// or https:// URL' });

const postgresUrl = optionalString.refine((v) => v === undefined || /^postgres(?:ql)?:\/\//i.test(v), {
  message: 'expected a postgres:// or postgresql:// connection URL',
});

/** Every knob the proxy reads from the environment; names are the README's configuration table. */
export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: postgresUrl,
  PGLITE_DATA_DIR: z.string().default('.tollgate/pgdata'),
  PGLITE_PORT: z.coerce.number().int().min(0).max(65535).default(5433),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  UPSTREAM_BASE_URL: httpUrl.default('https://api.openai.com/v1'),
  OPENAI_API_KEY: optionalString,
  UPSTREAM_TIMEOUT_MS: ms(1).default(600_000),
  UPSTREAM_CONNECT_TIMEOUT_MS: ms(1).default(10_000),
  // 0: as many upstream connections as requests need (the limit is MAX_CONCURRENT_REQUESTS).
  UPSTREAM_CONNECTIONS: z.coerce.number().int().min(0).default(0),
  MAX_CONCURRENT_REQUESTS: z.coerce.number().int().min(0).default(0),
  CONCURRENCY_WAIT_MS: ms(0).default(5_000),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(25 * 1024 * 1024),
  PRICES_FILE: optionalString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(200),
  LOG_FLUSH_MS: ms(1).default(250),
  LOG_MAX_QUEUE: z.coerce.number().int().min(100).default(100_000),
  SPOOL_DIR: z.string().default('.tollgate/spool'),
  SPOOL_MAX_BYTES: z.coerce.number().int().min(1024 * 1024).default(1024 * 1024 * 1024),
  SPOOL_FSYNC_MS: ms(1).default(1_000),
  SHUTDOWN_GRACE_MS: ms(0).default(15_000),
  PERSONA_MODEL: z.string().default('gpt-4o-mini'),
  PERSONA_CACHE_TTL_SECONDS: secs(1).default(30 * 24 * 3600),
  PERSONA_DEDUP_WINDOW_SECONDS: secs(0).default(24 * 3600),
  PERSONA_MAX: z.coerce.number().int().min(1).max(100).default(50),
  CHAT_STREAM_MODEL: z.string().default('gpt-4o-mini'),
  IDEMPOTENCY_TTL_SECONDS: secs(1).default(24 * 3600),
  REQUEST_LOG_RETENTION_DAYS: z.coerce.number().int().positive().default(90),
  // Days of raw call-log rows kept (whole day partitions dropped); 0 keeps them all. Rollups stay.
  CALL_LOG_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  IDEMPOTENCY_WAIT_MS: ms(0).default(30_000),
  // The database down, a key cannot be honoured: refuse (503 + Retry-After) or serve without it.
  IDEMPOTENCY_WHEN_DB_DOWN: z.enum(['reject', 'serve']).default('reject'),
  RESPONSE_CACHE_TTL_SECONDS: secs(1).default(3600),
  RESPONSE_CACHE_ENDPOINTS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((list) => list.every((e) => CACHEABLE.includes(e)), {
      message: `expected a comma-separated list of ${['chat.completions', 'responses', 'embeddings', '*'].join(', ')}`,
    }),
  RESPONSE_CACHE_LRU_ENTRIES: z.coerce.number().int().min(0).default(1000),
  CACHE_CLEANUP_INTERVAL_MS: ms(1).default(10 * 60_000),
  COALESCE_WAIT_MS: ms(0).default(120_000),
  METRICS_ENABLED: bool.default(true),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/** Parses the environment; a bad value fails with one line per offending variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (`PORT=` in a .env file) means unset, as OPENAI_BASE_URL does for the SDK;
  // left in, z.coerce.number would read it as 0.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = configSchema.safeParse(set);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = i.path.join('.');
      return `  ${name}=${JSON.stringify(env[name] ?? '')}: ${i.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
