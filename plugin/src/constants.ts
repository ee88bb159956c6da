import pluginJson from './plugin.json';

export const PLUGIN_ID = pluginJson.id;
export const PLUGIN_BASE_URL = `/a/${pluginJson.id}`;

export enum ROUTES {
  Overview = 'overview',
  Costs = 'costs',
  Cache = 'cache',
  Idempotency = 'idempotency',
  Tenants = 'tenants',
  Performance = 'performance',
  Budget = 'budget',
}

/** Grafana's PostgreSQL datasource plugin (formerly `postgres`). */
export const POSTGRES_TYPE = 'grafana-postgresql-datasource';
/** The datasource provisioning/datasources creates; used when the app's jsonData names none. */
export const PROVISIONED_DATASOURCE_UID = 'tollgate-postgres';

/**
 * "All" of the endpoint/model/tenant variables. Grafana inserts a custom all value verbatim (Scenes
 * `CustomAllValue`, never quoted), and every query filters with `('__all' IN ($v) OR col IN ($v))`, so
 * All means "no filter" even when the variable has no options yet (the default, the list of options,
 * would be `IN ()` then: invalid SQL). scripts/generate-dashboard.ts uses the same value.
 */
export const ALL_VALUE = "'__all'";

export interface AppJsonData {
  datasourceUid?: string;
}
