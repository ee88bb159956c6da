import { SCENARIOS, progressLine, runTraffic, summaryText, type TrafficSummary } from '../../proxy/src/demo/traffic.js';
import { demoTenantIds } from '../../proxy/src/demo/tenants.js';
import { startStack, type Stack } from '../support/stack.js';

/** The traffic generator against the real proxy (express app, this run's Postgres) and the fake upstream. */
let stack: Stack;
let summary: TrafficSummary;
const lines: string[] = [];
let startedAt: Date;
// Other test files share this database: only this run's demo-tenant rows count.
const TENANTS = demoTenantIds().map((t) => t.tenant);
const MINE = 'tenant = ANY($1) AND created_at >= $2';

beforeAll(async () => {
  stack = await startStack({}, { chunkDelayMs: 2 });
  startedAt = new Date(Date.now() - 1000);
  // A fixed seed fixes the order of scenarios, so the first fifty always include every kind.
  summary = await runTraffic({
    proxyUrl: stack.proxyUrl,
    rate: 60,
    durationMs: 2500,
    concurrency: 64,
    seed: 'tollgate-traffic-test',
    progressEveryMs: 1000,
    log: (l) => lines.push(l),
  });
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

async function logged(): Promise<Array<{ tenant: string; endpoint: string; cache_status: string; status_code: number; client_aborted: boolean }>> {
  // Aborted streams are logged when the proxy notices the disconnect: wait until the count settles.
  let last = -1;
  for (let i = 0; i < 40; i++) {
    await stack.deps.callLog.flush();
    const n = Number((await stack.pool.query(`SELECT count(*) AS n FROM openai_call_log WHERE ${MINE}`, [TENANTS, startedAt])).rows[0].n);
    if (n === last) break;
    last = n;
    await new Promise((r) => setTimeout(r, 100));
  }
  return (await stack.pool.query(`SELECT tenant, endpoint, cache_status, status_code, client_aborted FROM openai_call_log WHERE ${MINE}`, [TENANTS, startedAt])).rows;
}

describe('demo traffic generator through the proxy', () => {
  it('runs every scenario and gets answers, cache hits, replays, injected errors and aborts', () => {
    expect(summary.failureSamples).toEqual([]);
    expect(summary.failures).toBe(0);
    expect(summary.scenarios).toBeGreaterThan(50);
    for (const s of SCENARIOS) expect([s, (summary.byScenario[s] ?? 0) > 0]).toEqual([s, true]);
    expect(summary.ok).toBeGreaterThan(summary.scenarios);
    expect(summary.hits).toBeGreaterThan(0);
    expect(summary.replays).toBeGreaterThan(0);
    expect(summary.aborted).toBeGreaterThan(0);
    // Only the injected upstream errors fail: 429, 500 and 503 from the fake upstream.
    expect(Object.keys(summary.byStatus).filter((s) => s !== '200').every((s) => ['429', '500', '503'].includes(s))).toBe(true);
    expect(summary.httpErrors).toBeGreaterThan(0);
    expect(summary.costUsd).toBeGreaterThan(0);
    expect(summary.savedUsd).toBeGreaterThan(0);
    expect(summary.calls).toBe(summary.ok + summary.httpErrors + summary.aborted + summary.failures);
  });

  it('prints progress lines and a summary', () => {
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(/^\[traffic \d+s\] calls \d+ .* hits \d+ .* replays \d+ .* cost \$\d+\.\d{4} .* saved \$\d+\.\d{4}$/);
    const text = summaryText(summary);
    expect(text).toContain(`calls     ${summary.calls}:`);
    expect(text).toContain(`${summary.hits} cache hits, ${summary.replays} replays`);
    expect(progressLine(summary, 1000)).toContain(`calls ${summary.calls}`);
  });

  it('lands in the call log across tenants, endpoints and cache statuses', async () => {
    const rows = await logged();
    expect(rows.length).toBeGreaterThanOrEqual(summary.ok + summary.httpErrors);
    expect(new Set(rows.map((r) => r.tenant))).toEqual(new Set(TENANTS));
    const endpoints = new Set(rows.map((r) => r.endpoint));
    for (const e of ['chat.completions', 'chat.stream', 'personas.generate', 'embeddings', 'responses']) expect([e, endpoints.has(e)]).toEqual([e, true]);
    const statuses = new Set(rows.map((r) => r.cache_status));
    for (const s of ['miss', 'hit', 'idempotent_replay', 'bypass']) expect([s, statuses.has(s)]).toEqual([s, true]);
    expect(rows.filter((r) => r.status_code >= 500 || r.status_code === 429).length).toBe(summary.httpErrors);
    expect(rows.some((r) => r.client_aborted)).toBe(true);
  });

  it('stops when told to, and refuses a configuration with nothing to run', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const started = Date.now();
    const s = await runTraffic({ proxyUrl: stack.proxyUrl, rate: 20, durationMs: 0, signal: ac.signal, progressEveryMs: 0, only: ['embeddings'] });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(Object.keys(s.byScenario)).toEqual(s.scenarios ? ['embeddings'] : []);
    await expect(runTraffic({ proxyUrl: stack.proxyUrl, rate: 1, durationMs: 100, faults: false, only: ['error'] })).rejects.toThrow(/no traffic scenario/);
  });
});
