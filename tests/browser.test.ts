import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chromium, type Browser as PlaywrightBrowser, type Page } from 'playwright-core';
import { backfill } from '../proxy/src/demo/backfill.js';
import { demoTenantIds } from '../proxy/src/demo/tenants.js';
import { createPool, type Pool } from '../proxy/src/db/pool.js';
import { migrate } from '../proxy/src/db/migrate.js';
import { startEmbeddedPostgres } from '../proxy/src/db/embedded.js';
import { PLUGIN_DIST, startGrafanaShell, type GrafanaShell } from './support/grafanaShell.js';

/**
 * The app as a user sees it: the built plugin (plugin/dist/module.js) loaded as Grafana loads it, in
 * the shell stand-in (plugin/tests/shell, tests/support/grafanaShell.ts), in Debian's Chromium, on a
 * month of backfilled history in a database of its own. Every page renders every panel with data and
 * no error and logs no console error; the filters change every panel of every page; the
 * drill-downs reach one call, shown as a readable record. A PNG of each page lands in
 * plugin/test-results/shell/ (CI keeps it).
 *
 * Skipped, with the reason, when Chromium or the plugin build is missing (`npm run build` first;
 * `apt-get install chromium`).
 */
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'plugin/test-results/shell');
const missing = !existsSync(CHROMIUM)
  ? `no Chromium at ${CHROMIUM} (apt-get install chromium)`
  : !existsSync(path.join(PLUGIN_DIST, 'module.js'))
    ? 'plugin/dist/module.js is missing (npm run build -w plugin)'
    : '';
if (missing) console.warn(`browser test skipped: ${missing}`);
const describeBrowser = missing ? describe.skip : describe;

const APP = '/a/tollgate-llm-app';

// The few DOM types the page functions use (this project's tsconfig has no DOM library; the
// functions run in the browser, where these are the real document and window).
interface El {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El> & Iterable<El>;
}
interface Browser {
  document: El & { body: { innerText: string } };
  shellReady?: boolean;
  shellErrors: string[];
}
const PAGES = ['overview', 'costs', 'tenants', 'performance', 'budget', 'cache', 'cache/hit-ratio', 'idempotency'];

let database: { url: string; drop(): Promise<void> } | undefined;
let pool: Pool;
let grafanaPool: Pool;
let shell: GrafanaShell;
let browser: PlaywrightBrowser;
let page: Page;
const consoleErrors: string[] = [];

/**
 * A database of this file's own, migrated (every migration, so whatever tables the panels read
 * exist and are filled as in production): a new database on the test server, or a second embedded
 * Postgres. Other test files share theirs and rewrite tenant names and backfill rows.
 */
async function ownDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (process.env.TEST_DATABASE_EMBEDDED) {
    const db = await startEmbeddedPostgres({ port: 0 });
    return { url: db.url, drop: () => db.stop() };
  }
  const name = `tollgate_browser_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function seed(): Promise<void> {
  database = await ownDatabase();
  pool = createPool(database.url, 4);
  await migrate(pool);
  await backfill(pool, { callsPerDay: 120 });
  // Attribution and today's calls (the backfill leaves today to live traffic; the budget page is this month).
  await pool.query(`UPDATE openai_call_log SET
      app_user = (ARRAY['alice', 'bob', 'carol'])[1 + abs(hashtext(request_id)) % 3],
      tags = ARRAY['team:' || (ARRAY['growth', 'support'])[1 + abs(hashtext(request_id || 't')) % 2]]
    WHERE abs(hashtext(request_id)) % 4 <> 0`);
  // Percentiles come from log-scale histograms (4.4 % wide bins): streams outside the filtered
  // endpoint and model start later, so a filter moves the TTFB p95 by more than one bin.
  // The same for the proxy's overhead (latency - upstream), which the backfill draws from 2-18 ms
  // for every endpoint: without this the two p95s fell in the same bin at some hours of some days.
  await pool.query(`UPDATE openai_call_log
      SET ttfb_ms = CASE WHEN stream THEN ttfb_ms * 3 ELSE ttfb_ms END,
          latency_ms = CASE WHEN upstream_ms IS NOT NULL THEN latency_ms + 30 ELSE latency_ms END
    WHERE (stream OR upstream_ms IS NOT NULL) AND NOT (endpoint = 'chat.completions' AND model = 'gpt-4o-mini')`);
  await pool.query(`INSERT INTO openai_call_log (endpoint, model, tokens_prompt, tokens_completion, cost_usd, created_at, request_id,
      tenant, method, path, status_code, stream, cache_status, cost_saved_usd, latency_ms, ttfb_ms, upstream_ms, usage_source, app_user, tags)
    SELECT endpoint, model, tokens_prompt, tokens_completion, cost_usd, now() - (row_number() OVER (ORDER BY created_at) * interval '20 seconds'),
      'today-' || request_id, tenant, method, path, status_code, stream, cache_status, cost_saved_usd, latency_ms, ttfb_ms, upstream_ms, usage_source, app_user, tags
    FROM (SELECT * FROM openai_call_log ORDER BY created_at DESC LIMIT 80) recent`);
  const [acme, globex] = demoTenantIds();
  await pool.query(`INSERT INTO tenant_names (tenant, display_name, monthly_budget_usd) VALUES ($1, 'Acme Corp', 50), ($2, 'Globex', NULL)`, [acme!.tenant, globex!.tenant]);
}

beforeAll(async () => {
  if (missing) return;
  // The shell bundle: the real @grafana/* packages from node_modules (cached: seconds after the first build).
  execFileSync(process.execPath, [path.join(ROOT, 'plugin/tests/shell/build.mjs')], { stdio: 'inherit' });
  await seed();
  // Grafana's queries run as its read-only role, as the provisioned datasource does. (PGlite is one
  // session for every connection: a role set there would apply to the seeding too, so not there.)
  // The role is set at connection start-up (a SET ROLE on connect raced the pool's first query).
  const url = new URL(database!.url);
  if (!process.env.TEST_DATABASE_EMBEDDED) url.searchParams.set('options', '-c role=tollgate_grafana');
  grafanaPool = createPool(url.toString(), 4);
  shell = await startGrafanaShell(grafanaPool);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 2600 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) consoleErrors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  mkdirSync(SHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await shell?.close();
  await grafanaPool?.end();
  await pool?.end();
  await database?.drop();
});

interface PanelState {
  title: string;
  error: boolean;
  text: string;
  /** Rendered data: stat values, table rows, legend entries or a call record. */
  items: number;
}

/** Every panel on the page once none is loading: its title, its error state and what it shows. */
async function panels(): Promise<PanelState[]> {
  await page.waitForFunction(
    () => {
      const sections = [...(globalThis as unknown as Browser).document.querySelectorAll('[data-testid^="data-testid Panel header "]')];
      return (
        (sections.length > 0 || (globalThis as unknown as Browser).document.querySelector('[data-testid="data-testid tollgate-call-record"]')) &&
        !(globalThis as unknown as Browser).document.querySelector('[aria-label="Panel loading bar"]') &&
        sections.every((s) => s.querySelector('[data-testid="stat-value"], [data-testid="table"], [data-testid="legend"], [data-testid^="data-testid Panel status"]') || /No data/.test(s.textContent ?? ''))
      );
    },
    undefined,
    { timeout: 20_000 },
  ).catch(async (err: Error) => {
    // Say what the page shows instead, and what the console said.
    const body = await page.evaluate(() => (globalThis as unknown as Browser).document.body.innerText.slice(0, 3000));
    throw new Error(`${err.message}\nconsole errors: ${JSON.stringify(consoleErrors)}\npage text:\n${body}`);
  });
  return page.$$eval('[data-testid^="data-testid Panel header "]', (sections) =>
    sections.map((s) => ({
      title: (s.getAttribute('data-testid') ?? '').replace('data-testid Panel header ', ''),
      error: Boolean(s.querySelector('[data-testid="data-testid Panel status error"]')),
      text: s.textContent ?? '',
      items: s.querySelectorAll('[data-testid="stat-value"], [data-testid="table"] tbody tr, [data-testid="legend-item"]').length,
    })),
  );
}

async function open(url: string): Promise<void> {
  await page.goto(`${shell.url}${url}`);
  await page.waitForFunction(() => (globalThis as unknown as Browser).shellReady || (globalThis as unknown as Browser).shellErrors?.length);
  const errors = await page.evaluate(() => (globalThis as unknown as Browser).shellErrors);
  expect(errors).toEqual([]);
}

describeBrowser('the app in a browser (Grafana shell stand-in, built plugin, real Postgres)', () => {
  it('renders every page: every panel has data and no error, no console error, a PNG each', async () => {
    if (!process.env.TEST_DATABASE_EMBEDDED) {
      expect((await grafanaPool.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u).toBe('tollgate_grafana');
    }
    for (const p of PAGES) {
      await open(`${APP}/${p}`);
      const found = await panels();
      expect([p, found.length > 0]).toEqual([p, true]);
      for (const panel of found) {
        expect([p, panel.title, panel.error ? shell.errors : false, panel.items > 0, /No data|No calls/.test(panel.text)]).toEqual([p, panel.title, false, true, false]);
        // Readable: no raw column names or series called `value`.
        expect([p, panel.title, panel.text]).not.toEqual([p, panel.title, expect.stringMatching(/cost_usd|tokens_prompt|saved_by_cache_usd|\bvalue\b/)]);
      }
      await page.screenshot({ path: path.join(SHOTS, `${p.replace('/', '-')}.png`), fullPage: true });
    }
    expect(consoleErrors).toEqual([]);
  }, 90_000);

  it('the filters (and the Tenants page\'s app user and tag) change every panel of every page', async () => {
    const cases: Array<[string, string]> = [
      ['overview', 'var-endpoint=chat.completions&var-model=gpt-4o-mini'],
      ['costs', 'var-endpoint=chat.completions&var-model=gpt-4o-mini'],
      ['cache', 'var-endpoint=chat.completions&var-model=gpt-4o-mini'],
      ['cache/hit-ratio', 'var-endpoint=chat.completions&var-model=gpt-4o-mini'],
      ['idempotency', 'var-endpoint=chat.completions&var-model=gpt-4o-mini'],
      ['tenants', 'var-endpoint=chat.completions&var-model=gpt-4o-mini'],
      // The attribution filters of the Tenants page: an app user, a tag.
      ['tenants', 'var-app_user=alice'],
      ['tenants', 'var-tag=team:growth'],
      ['performance', 'var-endpoint=chat.completions&var-model=gpt-4o-mini'],
      ['budget', 'var-endpoint=chat.completions&var-model=gpt-4o-mini'],
    ];
    for (const [p, filter] of cases) {
      await open(`${APP}/${p}`);
      const all = await panels();
      await open(`${APP}/${p}?${filter}`);
      const filtered = await panels();
      expect(filtered.map((x) => x.title)).toEqual(all.map((x) => x.title));
      for (const [i, panel] of filtered.entries()) {
        expect([p, filter, panel.title, panel.text === all[i]!.text]).toEqual([p, filter, panel.title, false]);
      }
    }
    expect(consoleErrors).toEqual([]);
  }, 180_000);

  it('drills down from a tenant to one call, shown as a readable record with a copyable request id', async () => {
    await open(`${APP}/tenants`);
    await panels();
    await page.click('[data-testid="data-testid Panel header Top spenders"] [data-testid="data-link"]');
    await page.waitForFunction(() => /^Tenant /.test((globalThis as unknown as Browser).document.querySelector('[data-testid="page-title"]')?.textContent ?? ''));
    await panels();
    expect(await page.textContent('[data-testid="breadcrumbs"]')).toContain('Tenants');
    await page.click('[data-testid="data-testid Panel header Calls"] [data-testid="data-link"]');
    await page.waitForSelector('[data-testid="data-testid tollgate-call-record"]', { timeout: 15_000 });
    const record = await page.$$eval('[data-testid="data-testid tollgate-call-record"] tr', (rows) =>
      Object.fromEntries(rows.map((r) => [r.querySelector('th')?.textContent ?? '', r.querySelector('td span')?.textContent ?? ''])),
    );
    expect(record['Request id']).toMatch(/^(today-)?backfill-/);
    expect(record['Cost']).toMatch(/^\$/);
    expect(record['Latency']).toMatch(/\d+(\.\d+)? (ms|s)$/);
    expect(record['Tenant id']).toMatch(/^t_/);
    expect(await page.locator('[data-testid="data-testid tollgate-call-record"] button[aria-label="Copy Request id"]').count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, 'call.png'), fullPage: true });
    // The costs drill-down reaches a call the same way.
    await open(`${APP}/costs`);
    await panels();
    await page.click('[data-testid="data-testid Panel header Endpoints"] [data-testid="data-link"]');
    await panels();
    await page.click('[data-testid="data-testid Panel header Models"] [data-testid="data-link"]');
    await panels();
    await page.click('[data-testid="data-testid Panel header Calls"] [data-testid="data-link"]');
    await page.waitForSelector('[data-testid="data-testid tollgate-call-record"]', { timeout: 15_000 });
    expect(await page.textContent('[data-testid="page-title"]')).toMatch(/^Call [0-9a-f-]{36}$/);
    // Drill-down variables are hidden: only the four filters have pickers.
    const pickers = await page.$$eval('[data-testid="data-testid template variable"] label', (ls) => ls.map((l) => l.textContent));
    expect(pickers).toEqual(['Datasource', 'Endpoint', 'Model', 'Tenant']);
    expect(consoleErrors).toEqual([]);
  }, 120_000);
});
