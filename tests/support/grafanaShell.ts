import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QueryResult } from 'pg';
import type { Pool } from '../../proxy/src/db/pool.js';
import { expandMacros } from '../../sql/grafana-macros.js';

/**
 * The server half of the Grafana stand-in (plugin/tests/shell/host.tsx is the browser half): the
 * page, the shell bundle, the built plugin under /public/plugins/<id>/, and the Grafana HTTP API the
 * app uses. /api/ds/query runs each query as Grafana's PostgreSQL backend does: its macros
 * expanded by sql/grafana-macros.ts (the SQL tests' expander) over the request's range and interval,
 * the rows returned as data frames, `time_series` turned from long to wide with the string columns
 * as labels (a lone `metric` column names the series), as sqleng does.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PLUGIN_DIST = path.join(ROOT, 'plugin/dist');
export const SHELL_DIST = path.join(ROOT, 'plugin/tests/shell/dist');
const PLUGIN_ID = 'tollgate-llm-app';
const DS_UID = 'tollgate-postgres';

const TIME_TYPES = new Set([1082, 1114, 1184]);
const NUMBER_TYPES = new Set([20, 21, 23, 26, 700, 701, 1700]);

interface FieldJson {
  name: string;
  type: 'time' | 'number' | 'string' | 'boolean';
  labels?: Record<string, string>;
}
interface Frame {
  fields: FieldJson[];
  values: unknown[][];
}

function typeOf(dataTypeID: number, name: string): FieldJson['type'] {
  if (TIME_TYPES.has(dataTypeID) || name === 'time') return name === 'time' && NUMBER_TYPES.has(dataTypeID) ? 'time' : TIME_TYPES.has(dataTypeID) ? 'time' : 'number';
  if (NUMBER_TYPES.has(dataTypeID)) return 'number';
  if (dataTypeID === 16) return 'boolean';
  return 'string';
}

function cellOf(v: unknown, type: FieldJson['type']): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'time') return v instanceof Date ? v.getTime() : Number(v) < 1e11 ? Number(v) * 1000 : Number(v);
  if (type === 'number') return Number(v);
  if (Array.isArray(v)) return v.join(', ');
  return v;
}

/** A result as one table frame; a numeric column called `time` is epoch seconds, as Grafana reads it. */
export function tableFrame(result: QueryResult): Frame {
  const fields = result.fields.map((f) => ({ name: f.name, type: typeOf(f.dataTypeID, f.name) }));
  const values = fields.map((f) => result.rows.map((r: Record<string, unknown>) => cellOf(r[f.name], f.type)));
  return { fields, values };
}

/** sqleng's time_series: long to wide, string columns as labels; three columns with `metric` name the series by it. */
export function timeSeriesFrame(table: Frame): Frame {
  const t = table.fields.findIndex((f) => f.type === 'time');
  if (t < 0) throw new Error('time series has to have a time column');
  const labelCols = table.fields.map((f, i) => (f.type === 'string' ? i : -1)).filter((i) => i >= 0);
  const valueCols = table.fields.map((f, i) => (f.type === 'number' ? i : -1)).filter((i) => i >= 0);
  const rows = table.values[t]!.length;
  const times = [...new Set(table.values[t]! as number[])].sort((a, b) => a - b);
  const at = new Map(times.map((x, i) => [x, i]));
  const series = new Map<string, { field: FieldJson; values: unknown[] }>();
  for (let r = 0; r < rows; r++) {
    const labels: Record<string, string> = {};
    for (const c of labelCols) labels[table.fields[c]!.name] = String(table.values[c]![r] ?? '');
    for (const c of valueCols) {
      const key = `${table.fields[c]!.name}|${JSON.stringify(labels)}`;
      let s = series.get(key);
      if (!s) {
        const metricOnly = labelCols.length === 1 && table.fields.length === 3 && 'metric' in labels;
        const field: FieldJson = metricOnly
          ? { name: labels.metric!, type: 'number' }
          : { name: table.fields[c]!.name, type: 'number', ...(labelCols.length ? { labels } : {}) };
        s = { field, values: times.map(() => null) };
        series.set(key, s);
      }
      s.values[at.get(table.values[t]![r] as number)!] = table.values[c]![r];
    }
  }
  return {
    fields: [{ name: 'Time', type: 'time' }, ...[...series.values()].map((s) => s.field)],
    values: [times, ...[...series.values()].map((s) => s.values)],
  };
}

const FRAME_TYPE: Record<FieldJson['type'], string> = { time: 'time.Time', number: 'float64', string: 'string', boolean: 'bool' };

function frameJson(refId: string, frame: Frame, sql: string) {
  return {
    schema: {
      refId,
      meta: { typeVersion: [0, 0], executedQueryString: sql },
      fields: frame.fields.map((f) => ({ ...f, typeInfo: { frame: FRAME_TYPE[f.type], nullable: true } })),
    },
    data: { values: frame.values },
  };
}

interface DsQuery {
  refId: string;
  rawSql: string;
  format?: string;
  intervalMs?: number;
}

async function runQueries(pool: Pool, body: { queries: DsQuery[]; from?: string; to?: string }, log: string[], errors: string[]) {
  const range = { from: new Date(Number(body.from ?? Date.now() - 3600e3)), to: new Date(Number(body.to ?? Date.now())) };
  const results: Record<string, unknown> = {};
  let failed = false;
  for (const q of body.queries) {
    let sql = q.rawSql;
    try {
      sql = expandMacros(q.rawSql, { range, intervalMs: q.intervalMs ?? 60_000 });
      log.push(sql);
      const table = tableFrame(await pool.query(sql));
      const frame = q.format === 'time_series' ? timeSeriesFrame(table) : table;
      results[q.refId] = { status: 200, frames: [frameJson(q.refId, frame, sql)] };
    } catch (err) {
      failed = true;
      errors.push(`${(err as Error).message}\n${sql}`);
      results[q.refId] = { status: 400, error: (err as Error).message, errorSource: 'downstream', frames: [frameJson(q.refId, { fields: [], values: [] }, sql)] };
    }
  }
  return { status: failed ? 400 : 200, body: { results } };
}

const BOOT = {
  settings: {
    appSubUrl: '',
    appUrl: 'http://localhost/',
    buildInfo: { version: '13.1.0', env: 'production', edition: 'Open Source' },
    featureToggles: {},
    datasources: { 'Tollgate Postgres': { id: 1, uid: DS_UID, type: 'grafana-postgresql-datasource', name: 'Tollgate Postgres', meta: { id: 'grafana-postgresql-datasource' } } },
    defaultDatasource: 'Tollgate Postgres',
    panels: {},
    apps: { [PLUGIN_ID]: { id: PLUGIN_ID, path: `/public/plugins/${PLUGIN_ID}/module.js`, version: '1.0.0', preload: false } },
  },
  user: { theme: 'dark', orgRole: 'Viewer', isSignedIn: true, login: 'viewer', timezone: 'utc', locale: 'en-US', language: 'en-US' },
  navTree: [],
  assets: { dark: '', light: '' },
};

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Grafana shell stand-in</title>
<script>window.grafanaBootData = ${JSON.stringify(BOOT)};</script>
<style>body{margin:0;background:#111217;color:#ccccdc;font-family:Inter,Helvetica,Arial,sans-serif}a{color:#6e9fff}</style>
</head><body><div id="root"></div><script src="/shell/host.js"></script></body></html>`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.map': 'application/json' };

function sendFile(res: ServerResponse, base: string, rel: string): void {
  const file = path.join(base, path.normalize(rel).replace(/^(\.\.[/\\])+/, ''));
  if (!file.startsWith(base) || !existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

export interface GrafanaShell {
  url: string;
  /** Every SQL statement /api/ds/query ran, after macro expansion. */
  queries: string[];
  /** The queries that failed, with their error. */
  errors: string[];
  close(): Promise<void>;
}

export async function startGrafanaShell(pool: Pool): Promise<GrafanaShell> {
  const queries: string[] = [];
  const errors: string[] = [];
  const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://shell');
    const p = url.pathname;
    void (async () => {
      if (p === '/api/ds/query' && req.method === 'POST') {
        const r = await runQueries(pool, (await readBody(req)) as { queries: DsQuery[] }, queries, errors);
        return json(res, r.status, r.body);
      }
      if (p.startsWith(`/api/datasources/uid/${DS_UID}/health`)) return json(res, 200, { status: 'OK', message: 'Database Connection OK' });
      if (p === `/api/plugins/${PLUGIN_ID}/settings`) return json(res, 200, { message: 'Plugin settings updated' });
      if (p.startsWith('/api/')) return json(res, 404, { message: 'Not found' });
      if (p.startsWith('/shell/')) return sendFile(res, SHELL_DIST, p.slice('/shell/'.length));
      if (p.startsWith(`/public/plugins/${PLUGIN_ID}/`)) return sendFile(res, PLUGIN_DIST, p.slice(`/public/plugins/${PLUGIN_ID}/`.length));
      if (p.startsWith('/a/') || p.startsWith('/plugins/') || p === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      res.writeHead(404).end();
    })().catch((err: Error) => json(res, 500, { message: err.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    queries,
    errors,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
