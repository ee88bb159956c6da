import { chooseUpstream } from './upstream.js';

/**
 * The compose stack's proxy command: picks the upstream (see chooseUpstream), applies the
 * migrations and Grafana's role password, then runs the ordinary proxy entry point in this same
 * process, so signals and exit codes are the proxy's own.
 */
const choice = chooseUpstream(process.env);
process.env.UPSTREAM_BASE_URL = choice.url;
console.log(
  choice.kind === 'mock'
    ? `No OPENAI_API_KEY: using the fake OpenAI upstream at ${choice.url}`
    : `Upstream: ${choice.url}${choice.kind === 'openai' ? ' (real OpenAI; OPENAI_API_KEY is used for callers that send no key)' : ''}`,
);

/** Errors that mean "Postgres is not up yet" rather than "something is wrong". */
const NOT_UP = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', '57P03']);

/**
 * Runs `step`, retrying while Postgres is still starting (a fresh volume's first start restarts the
 * server once), so a container started a moment early waits instead of crash-looping.
 */
async function untilReachable<T>(step: () => Promise<T>, timeoutMs: number, delayMs = 1000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await step();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!NOT_UP.has(code) || Date.now() + delayMs > until) throw err;
      console.log(`Postgres not reachable yet (${code}); retrying`);
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

const grafanaPassword = process.env.TOLLGATE_GRAFANA_DB_PASSWORD?.trim();
if (process.env.DATABASE_URL && grafanaPassword) {
  const { createPool } = await import('../db/pool.js');
  const { migrate } = await import('../db/migrate.js');
  const { syncGrafanaRolePassword } = await import('./grafanaRole.js');
  const { step } = await import('../cli.js');
  const pool = createPool(process.env.DATABASE_URL, 1);
  try {
    // The role exists only once migrated; the proxy's own migrate() below then finds nothing to do.
    await step('applying migrations to DATABASE_URL', () => untilReachable(() => migrate(pool), 60_000));
    const synced = await step("setting the Grafana role's password", () => syncGrafanaRolePassword(pool, grafanaPassword));
    if (!synced) console.warn('Grafana role not found; its password was not set');
  } finally {
    await pool.end();
  }
}
await import('../main.js');
