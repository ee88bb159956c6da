/**
 * A stand-in for Grafana's shell, just enough to run the built app the way Grafana does:
 * - `dist/module.js` is loaded as an AMD module, its externals (react, @grafana/data, ui, runtime,
 *   rxjs, ...) answered with the real packages from node_modules, its chunks from
 *   /public/plugins/<id>/ (the publicPath it computes from the AMD `module`);
 * - the @grafana/runtime services Grafana sets at boot: backendSrv (fetch to this server),
 *   dataSourceSrv with one PostgreSQL datasource (DataSourceWithBackend: every query goes to
 *   /api/ds/query, variables interpolated first by the datasource's own rules), templateSrv (Scenes
 *   objects interpolate themselves, as in Grafana), runRequest, the panel plugin loader, PluginPage;
 * - the app's root page rendered under react-router at /a/<id>/..., as Grafana routes it.
 *
 * Not Grafana: the core panel plugins (stat, table, time series, bar chart, pie chart, text) are not
 * published to npm, so panels.tsx provides small stand-ins that show what a reader needs to check
 * (values with units and colours, column names and links, series names); the chrome around each
 * panel is @grafana/ui's own PanelChrome, rendered by Scenes.
 */
import React, { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import * as ReactJsxRuntime from 'react/jsx-runtime';
import * as ReactDom from 'react-dom';
import * as ReactRouter from 'react-router';
import * as rxjs from 'rxjs';
import * as lodash from 'lodash';
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import i18next from 'i18next';
import { from, map, catchError, of } from 'rxjs';
import * as grafanaData from '@grafana/data';
import {
  type AppPlugin,
  type DataQueryRequest,
  type DataSourceInstanceSettings,
  LoadingState,
  type PanelData,
  PluginType,
  type ScopedVars,
  type DataSourceApi,
} from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import {
  DataSourceWithBackend,
  config,
  getBackendSrv,
  getTemplateSrv,
  locationService,
  setBackendSrv,
  setDataSourceSrv,
  setPluginImportUtils,
  setRunRequest,
  setTemplateSrv,
  type BackendSrv,
  type BackendSrvRequest,
  type FetchResponse,
} from '@grafana/runtime';
import * as grafanaUi from '@grafana/ui';
import { sceneGraph } from '@grafana/scenes';
import { lastValueFrom } from 'rxjs';
import { initRegistries, panelPlugin } from './panels';
import { PluginPageStandIn } from './page';
// @ts-expect-error: an alias of build.mjs (the module of @grafana/runtime that Grafana's core sets PluginPage with)
import { setPluginPage } from 'grafana-runtime-plugin-page';

declare global {
  interface Window {
    define: ((deps: string[], factory: (...args: unknown[]) => unknown) => void) & { amd?: object };
    shellErrors: string[];
    shellReady?: boolean;
  }
}

const PLUGIN_ID = 'tollgate-llm-app';
const DS_UID = 'tollgate-postgres';
const PLUGIN_BASE = `/public/plugins/${PLUGIN_ID}/`;

// --- backendSrv: fetch() returning Grafana's FetchResponse observable ----------------------------
async function doFetch<T>(options: BackendSrvRequest): Promise<FetchResponse<T>> {
  const res = await fetch(options.url, {
    method: options.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...(options.headers ?? {}) },
    body: options.data === undefined ? undefined : JSON.stringify(options.data),
  });
  const data = (await res.json()) as T;
  const response = { data, status: res.status, statusText: res.statusText, ok: res.ok, headers: res.headers, url: res.url, type: res.type, redirected: res.redirected, config: options } as FetchResponse<T>;
  if (!res.ok) {
    throw Object.assign(new Error(`${res.status} ${res.statusText}`), { ...response, data });
  }
  return response;
}
const backendSrv = {
  fetch: <T,>(options: BackendSrvRequest) => from(doFetch<T>(options)),
  get: async (url: string) => (await doFetch({ url })).data,
  post: async (url: string, data?: unknown) => (await doFetch({ url, method: 'POST', data })).data,
  datasourceRequest: (options: BackendSrvRequest) => doFetch(options),
} as unknown as BackendSrv;
setBackendSrv(backendSrv);

// --- the PostgreSQL datasource: Grafana's interpolation rules, queries to /api/ds/query -----------
/** grafana-postgresql-datasource `interpolateVariable`: arrays as quoted literals, a string raw with `'` doubled. */
function interpolateVariable(value: unknown): unknown {
  const quote = (v: unknown) => `'${String(v).replace(/'/g, "''")}'`;
  if (typeof value === 'string') {
    return value.replace(/'/g, "''");
  }
  if (Array.isArray(value)) {
    return value.map(quote).join(',');
  }
  return value;
}

interface SqlQuery {
  refId: string;
  rawSql: string;
  format?: string;
}

class PostgresStandIn extends DataSourceWithBackend<SqlQuery & grafanaData.DataQuery> {
  applyTemplateVariables(query: SqlQuery & grafanaData.DataQuery, scopedVars: ScopedVars) {
    return { ...query, rawSql: getTemplateSrv().replace(query.rawSql, scopedVars, interpolateVariable as never) };
  }
  /** Variable options: the query's `__text` / `__value` columns, as Grafana's SQL variable support reads them. */
  async metricFindQuery(query: SqlQuery, options?: { scopedVars?: ScopedVars; range?: grafanaData.TimeRange }) {
    const rawSql = getTemplateSrv().replace(query.rawSql, options?.scopedVars, interpolateVariable as never);
    const res = await lastValueFrom(
      getBackendSrv().fetch<{ results: Record<string, { frames?: Array<{ schema: { fields: Array<{ name: string }> }; data: { values: unknown[][] } }>; error?: string }> }>({
        url: '/api/ds/query',
        method: 'POST',
        data: { queries: [{ refId: 'var', rawSql, format: 'table', datasource: { uid: DS_UID } }], from: String(options?.range?.from.valueOf() ?? Date.now() - 3600e3), to: String(options?.range?.to.valueOf() ?? Date.now()) },
      })
    );
    const result = res.data.results.var!;
    if (result.error) {
      throw new Error(result.error);
    }
    const frame = result.frames?.[0];
    if (!frame) {
      return [];
    }
    const names = frame.schema.fields.map((f) => f.name);
    const t = names.indexOf('__text') >= 0 ? names.indexOf('__text') : 0;
    const v = names.indexOf('__value') >= 0 ? names.indexOf('__value') : t;
    return (frame.data.values[t] ?? []).map((text, i) => ({ text: String(text), value: String(frame.data.values[v]![i]) }));
  }
}

const dsSettings = {
  id: 1,
  uid: DS_UID,
  type: 'grafana-postgresql-datasource',
  name: 'Tollgate Postgres',
  access: 'proxy',
  readOnly: true,
  jsonData: {},
  meta: { id: 'grafana-postgresql-datasource', name: 'PostgreSQL', type: PluginType.datasource, backend: true, metrics: true, info: { logos: { small: '', large: '' } } },
} as unknown as DataSourceInstanceSettings;
const datasource = new PostgresStandIn(dsSettings);

const resolves = (ref: unknown): boolean => {
  if (ref === null || ref === undefined) {
    return true;
  }
  const uid = typeof ref === 'string' ? ref : (ref as { uid?: string }).uid;
  return uid === undefined || uid === DS_UID || uid === dsSettings.name || getTemplateSrv().replace(uid) === DS_UID;
};
setDataSourceSrv({
  get: async (ref?: unknown) => {
    if (!resolves(ref)) {
      throw new Error(`Datasource ${JSON.stringify(ref)} was not found`);
    }
    return datasource as unknown as DataSourceApi;
  },
  getInstanceSettings: (ref?: unknown) => (resolves(ref) ? dsSettings : undefined),
  getList: () => [dsSettings],
  reload: async () => undefined,
  registerRuntimeDataSource: () => undefined,
} as unknown as grafanaRuntime.DataSourceSrv);

// --- templateSrv: a Scenes object in scopedVars interpolates itself (Grafana's TemplateSrv does the same)
setTemplateSrv({
  getVariables: () => [],
  replace: (target?: string, scopedVars?: ScopedVars, format?: unknown) => {
    const so = (scopedVars?.__sceneObject as { value?: { valueOf(): unknown } } | undefined)?.value?.valueOf();
    if (!target) {
      return target ?? '';
    }
    if (so) {
      return sceneGraph.interpolate(so as never, target, scopedVars, format as never);
    }
    return target.replace(/\$\{ds\}/g, DS_UID);
  },
  containsTemplate: (t?: string) => Boolean(t && t.includes('$')),
  updateTimeRange: () => undefined,
} as unknown as grafanaRuntime.TemplateSrv);

// --- runRequest: the datasource's answer as PanelData, errors on the data (what Grafana's runRequest does)
setRunRequest((ds: DataSourceApi, request: DataQueryRequest): rxjs.Observable<PanelData> => {
  const base = { series: [], timeRange: request.range, request };
  return from(Promise.resolve()).pipe(
    rxjs.mergeMap(() => {
      const r = ds.query(request);
      return r instanceof Promise ? from(r) : r;
    }),
    map((res) => {
      const errors = res.errors ?? (res.error ? [res.error] : undefined);
      return { ...base, series: res.data, state: errors?.length ? LoadingState.Error : LoadingState.Done, errors } as PanelData;
    }),
    catchError((err: { message?: string; data?: { message?: string } }) =>
      of({ ...base, state: LoadingState.Error, errors: [{ message: err.data?.message ?? err.message ?? String(err) }] } as PanelData)
    )
  );
});

// --- app events (panel attention, notifications): Grafana's event bus -----------------------------
grafanaRuntime.setAppEvents(new grafanaData.EventBusSrv());

// --- panel plugins and registries Grafana's core sets up at boot ----------------------------------
initRegistries();
setPluginImportUtils({
  importPanelPlugin: async (id: string) => panelPlugin(id),
  getPanelPluginFromCache: (id: string) => panelPlugin(id),
});
setPluginPage(PluginPageStandIn as never);

// --- the AMD loader: module.js's externals are these very modules ---------------------------------
window.shellErrors = [];
const externals: Record<string, unknown> = {
  react: React,
  'react-dom': ReactDom,
  'react/jsx-runtime': ReactJsxRuntime,
  'react-router': ReactRouter,
  rxjs,
  lodash,
  '@emotion/css': emotionCss,
  '@emotion/react': emotionReact,
  '@grafana/data': grafanaData,
  '@grafana/runtime': grafanaRuntime,
  '@grafana/ui': grafanaUi,
  i18next,
  module: { uri: `${PLUGIN_BASE}module.js`, id: `${PLUGIN_BASE}module.js` },
};

function loadPlugin(): Promise<{ plugin: AppPlugin }> {
  return new Promise((resolve, reject) => {
    const define = (deps: string[], factory: (...args: unknown[]) => unknown) => {
      const missing = deps.filter((d) => !(d in externals));
      if (missing.length) {
        reject(new Error(`module.js needs externals the shell does not provide: ${missing.join(', ')}`));
        return;
      }
      Promise.resolve(factory(...deps.map((d) => externals[d]))).then(
        (exports) => Promise.resolve(exports).then((e) => resolve(e as { plugin: AppPlugin })),
        reject
      );
    };
    window.define = Object.assign(define, { amd: {} });
    const script = document.createElement('script');
    script.src = `${PLUGIN_BASE}module.js`;
    script.onerror = () => reject(new Error('module.js did not load'));
    document.head.appendChild(script);
  });
}

// --- routing: Grafana renders an app's root page under /a/<id>/* ----------------------------------
function HistoryRouter({ children }: { children: React.ReactNode }) {
  const history = locationService.getHistory();
  const [location, setLocation] = useState(history.location);
  useEffect(() => history.listen((l: typeof location) => setLocation(l)), [history]);
  return (
    <ReactRouter.Router location={location} navigator={history as never}>
      {children}
    </ReactRouter.Router>
  );
}

async function main() {
  const { plugin } = await loadPlugin();
  const meta = {
    id: PLUGIN_ID,
    name: 'Tollgate',
    type: PluginType.app,
    enabled: true,
    pinned: true,
    jsonData: { datasourceUid: DS_UID },
    info: { logos: { small: '', large: '' } },
    baseUrl: PLUGIN_BASE,
    module: `${PLUGIN_BASE}module.js`,
  } as unknown as grafanaData.AppPluginMeta;
  plugin.meta = meta;
  const Root = plugin.root!;
  const Config = plugin.configPages?.[0]?.body;
  const root = createRoot(document.getElementById('root')!);
  root.render(
    <grafanaUi.ThemeContext.Provider value={config.theme2}>
      <grafanaRuntime.LocationServiceProvider service={locationService}>
      <HistoryRouter>
        <ReactRouter.Routes>
          <ReactRouter.Route path={`/a/${PLUGIN_ID}/*`} element={<Root meta={meta} path={`/a/${PLUGIN_ID}`} query={{}} onNavChanged={() => undefined} basename={`/a/${PLUGIN_ID}`} />} />
          <ReactRouter.Route path={`/plugins/${PLUGIN_ID}`} element={Config ? <Config plugin={plugin} query={{}} /> : <div>no config page</div>} />
        </ReactRouter.Routes>
      </HistoryRouter>
      </grafanaRuntime.LocationServiceProvider>
    </grafanaUi.ThemeContext.Provider>
  );
  window.shellReady = true;
}

main().catch((e: Error) => {
  window.shellErrors.push(String(e?.stack ?? e));
  console.error(e);
});
