import pluginJson from './plugin.json';

export const PLUGIN_ID = pluginJson.id;
export const PLUGIN_BASE_URL = `/a/${pluginJson.id}`;

export enum ROUTES {
  Overview = 'overview',
  Costs = 'costs',
  Cache = 'cache',
  Idempotency = 'idempotency',
}

/** Grafana's PostgreSQL datasource plugin (formerly `postgres`). */
export const POSTGRES_TYPE = 'grafana-postgresql-datasource';
/** The datasource provisioning/datasources creates; used when the app's jsonData names none. */
export const PROVISIONED_DATASOURCE_UID = 'tollgate-postgres';

export interface AppJsonData {
  datasourceUid?: string;
}
