import {
  ConstantVariable,
  DataSourceVariable,
  EmbeddedScene,
  QueryVariable,
  SceneControlsSpacer,
  SceneFlexItem,
  SceneFlexLayout,
  type SceneFlexItemLike,
  type SceneObject,
  SceneQueryRunner,
  SceneRefreshPicker,
  SceneTimePicker,
  SceneTimeRange,
  SceneVariableSet,
  type SceneVariable,
  VariableValueSelectors,
} from '@grafana/scenes';
import { VariableHide, VariableRefresh } from '@grafana/schema';
import { ALL_VALUE, POSTGRES_TYPE } from '../constants';
import { QUERIES, type QueryName } from '../queries';

/** Every query goes to the datasource the `ds` variable selects (default: the app's configured one). */
export const PG = { type: POSTGRES_TYPE, uid: '${ds}' };

export type Format = 'table' | 'time_series';

export function sqlRunner(name: QueryName, format: Format = 'table'): SceneQueryRunner {
  return new SceneQueryRunner({
    datasource: PG,
    queries: [{ refId: 'A', rawSql: QUERIES[name], format, editorMode: 'code', rawQuery: true }],
  });
}

function filterVariable(name: 'endpoint' | 'model' | 'tenant' | 'app_user' | 'tag', label: string): QueryVariable {
  return new QueryVariable({
    name,
    label,
    datasource: PG,
    query: { refId: name, rawSql: QUERIES[`var_${name}`], format: 'table', editorMode: 'code', rawQuery: true },
    isMulti: true,
    includeAll: true,
    allValue: ALL_VALUE,
    defaultToAll: true,
    // The options are the values with calls in the time range (and, for model and tenant, at the
    // endpoints/models selected before them): refreshed when the range changes.
    refresh: VariableRefresh.onTimeRangeChanged,
  });
}

/** The variables every page has: datasource, endpoint, model, tenant (multi-value, All). */
export function pageVariables(datasourceUid: string): SceneVariable[] {
  return [
    new DataSourceVariable({ name: 'ds', label: 'Datasource', pluginId: POSTGRES_TYPE, value: datasourceUid }),
    filterVariable('endpoint', 'Endpoint'),
    filterVariable('model', 'Model'),
    filterVariable('tenant', 'Tenant'),
  ];
}

/**
 * The Tenants page's attribution filters: the app user and tag calls carried (X-Tollgate-User,
 * X-Tollgate-Tags), multi-value with "All" like the other filters; every query on that page applies them.
 */
export function attributionVariables(): SceneVariable[] {
  return [filterVariable('app_user', 'App user'), filterVariable('tag', 'Tag')];
}

/**
 * Fixed values of a drill-down (the endpoint, model, tenant or call in its URL): hidden, since the
 * page title and breadcrumb already name them and an empty, uneditable chip says nothing.
 */
export function drillVariable(name: 'drill_endpoint' | 'drill_model' | 'drill_tenant' | 'call_id', value: string): ConstantVariable {
  return new ConstantVariable({ name, value, hide: VariableHide.hideVariable });
}

export function item(body: SceneObject, minHeight = 300, width?: string): SceneFlexItem {
  return new SceneFlexItem({ body: body as SceneFlexItem['state']['body'], minHeight, ...(width ? { width } : {}) });
}

export function row(...children: SceneFlexItemLike[]): SceneFlexLayout {
  return new SceneFlexLayout({ direction: 'row', children });
}

/**
 * A page body with its own time range (last 30 days), variables, pickers and refresh. The range is in
 * UTC: the queries bucket by UTC day (and the provisioned dashboard is UTC too), so the
 * picker's times and the panels' day axes name the same days as the SQL does, in any browser.
 */
export function pageScene(
  datasourceUid: string,
  children: SceneFlexItemLike[],
  extra: SceneVariable[] = [],
  range: { from: string; to: string } = { from: 'now-30d', to: 'now' }
): EmbeddedScene {
  return new EmbeddedScene({
    $timeRange: new SceneTimeRange({ ...range, timeZone: 'utc' }),
    $variables: new SceneVariableSet({ variables: [...pageVariables(datasourceUid), ...extra] }),
    controls: [
      new VariableValueSelectors({}),
      new SceneControlsSpacer(),
      new SceneTimePicker({ isOnCanvas: true }),
      new SceneRefreshPicker({ intervals: ['1m', '5m', '15m', '1h'], isOnCanvas: true }),
    ],
    body: new SceneFlexLayout({ direction: 'column', children }),
  });
}
