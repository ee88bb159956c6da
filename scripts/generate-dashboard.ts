/**
 * Writes provisioning/dashboards/tollgate-cost-cache.json, the plain "Tollgate: Cost & Cache"
 * dashboard (design note section 3 plus the stat row), from sql/queries/*.sql. The SQL text is
 * read from the files, never copied, and tests/sql/dashboard.test.ts fails when the committed JSON
 * differs from a fresh generation.
 *   node --loader ts-node/esm scripts/generate-dashboard.ts   (or: npm run generate:dashboard -w plugin)
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readQuery } from '../sql/queries.js';

export const DASHBOARD_PATH = fileURLToPath(new URL('../provisioning/dashboards/tollgate-cost-cache.json', import.meta.url));
const DS = { type: 'grafana-postgresql-datasource', uid: '${ds}' };
/**
 * "All" of the filter variables: a custom all value, inserted verbatim (never quoted) by Grafana, that
 * the queries test with `('__all' IN ($v) OR col IN ($v))`. Without it "All" is the list of options,
 * which is `IN ()` (invalid SQL) while the log is empty. plugin/src/constants.ts has the same value.
 */
export const ALL_VALUE = "'__all'";

interface PanelSpec {
  title: string;
  type: string;
  query: string;
  format: 'time_series' | 'table';
  gridPos: { x: number; y: number; w: number; h: number };
  unit?: string;
  description?: string;
  options?: Record<string, unknown>;
  /** Field display name, e.g. the design note's legend `{{endpoint}}` as `${__field.labels.endpoint}`. */
  displayName?: string;
}

const STATS: PanelSpec[] = [
  { title: 'Total cost', type: 'stat', query: 'stat_total_cost', format: 'table', unit: 'currencyUSD', gridPos: { x: 0, y: 0, w: 6, h: 4 } },
  { title: 'Calls', type: 'stat', query: 'stat_calls', format: 'table', unit: 'short', gridPos: { x: 6, y: 0, w: 6, h: 4 } },
  { title: 'Cache hit ratio', type: 'stat', query: 'stat_hit_ratio', format: 'table', unit: 'percentunit', gridPos: { x: 12, y: 0, w: 6, h: 4 }, description: 'Exact: cache hits over the calls through the proxy (cache_status); rows apps log themselves (external) are left out.' },
  { title: 'Cost saved (cache, idempotency)', type: 'stat', query: 'stat_cost_saved', format: 'table', unit: 'currencyUSD', gridPos: { x: 18, y: 0, w: 6, h: 4 } },
];

const PANELS: PanelSpec[] = [
  { title: 'Daily OpenAI cost by endpoint (UTC days)', type: 'timeseries', query: 'costs_daily_by_endpoint', format: 'time_series', unit: 'currencyUSD', gridPos: { x: 0, y: 4, w: 12, h: 8 } },
  { title: 'Persona cache growth (new entries per UTC day)', type: 'barchart', query: 'persona_cache_daily', format: 'table', unit: 'short', gridPos: { x: 12, y: 4, w: 12, h: 8 }, options: { xField: 'time' } },
  { title: 'Idempotent requests (stored per UTC day)', type: 'timeseries', query: 'stored_responses_daily', format: 'time_series', unit: 'short', gridPos: { x: 0, y: 12, w: 12, h: 8 } },
  { title: 'Model cost breakdown', type: 'piechart', query: 'cost_by_model', format: 'table', unit: 'currencyUSD', gridPos: { x: 12, y: 12, w: 6, h: 8 }, options: { reduceOptions: { values: true, calcs: [] } } },
  { title: 'Persona cache hit ratio (approximate)', type: 'stat', query: 'persona_hit_ratio', format: 'table', unit: 'percentunit', gridPos: { x: 18, y: 12, w: 6, h: 8 }, description: 'Design note formula: 1 - unique persona sets / persona calls. The exact ratio is in the stat row.', options: { reduceOptions: { fields: '/^cache_hit_ratio$/', values: false, calcs: ['lastNotNull'] } } },
];

function multiVariable(name: string, label: string): Record<string, unknown> {
  return {
    name,
    label,
    type: 'query',
    datasource: DS,
    query: { refId: name, rawSql: readQuery(`var_${name}`), format: 'table', editorMode: 'code', rawQuery: true },
    definition: readQuery(`var_${name}`),
    refresh: 2,
    multi: true,
    includeAll: true,
    allValue: ALL_VALUE,
    current: { text: ['All'], value: ['$__all'] },
    sort: 1,
  };
}

export function buildDashboard(): Record<string, unknown> {
  const panels = [...STATS, ...PANELS].map((p, i) => ({
    id: i + 1,
    title: p.title,
    type: p.type,
    ...(p.description ? { description: p.description } : {}),
    datasource: DS,
    gridPos: p.gridPos,
    fieldConfig: { defaults: { unit: p.unit ?? 'short', ...(p.displayName ? { displayName: p.displayName } : {}) }, overrides: [] },
    options: p.options ?? {},
    targets: [{ refId: 'A', datasource: DS, editorMode: 'code', rawQuery: true, format: p.format, rawSql: readQuery(p.query) }],
  }));
  return {
    uid: 'tollgate-cost-cache',
    title: 'Tollgate: Cost & Cache',
    tags: ['tollgate', 'openai'],
    timezone: 'utc',
    // The dashboard schema version of Grafana 13.1 (@grafana/schema 13.1.0 defaultDashboard).
    schemaVersion: 42,
    version: 1,
    editable: true,
    refresh: '1m',
    time: { from: 'now-30d', to: 'now' },
    templating: {
      list: [
        { name: 'ds', label: 'Postgres', type: 'datasource', query: 'grafana-postgresql-datasource', current: { text: 'Tollgate Postgres', value: 'tollgate-postgres' } },
        multiVariable('endpoint', 'Endpoint'),
        multiVariable('model', 'Model'),
        multiVariable('tenant', 'Tenant'),
      ],
    },
    panels,
  };
}

export function dashboardJson(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(DASHBOARD_PATH, dashboardJson());
  console.log(`wrote ${DASHBOARD_PATH}`);
}
