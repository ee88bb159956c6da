import { PLUGIN_BASE_URL, ROUTES } from '../constants';

// Prefixes the route with the base URL of the plugin
export function prefixRoute(route: string): string {
  return `${PLUGIN_BASE_URL}/${route}`;
}

// Drill-down values go into SQL as single-value variables (quotes doubled by Grafana, no
// surrounding quotes), so only plain names reach a page: endpoints, models, tenants and uuids.
const SAFE_VALUE = /^[A-Za-z0-9._:\-]{1,128}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isSafeValue(v: string): boolean {
  return SAFE_VALUE.test(v);
}

export function isCallId(v: string): boolean {
  return UUID.test(v);
}

/** Costs drill-down URLs: endpoint, then model within it, then one call. */
export const costsUrls = {
  root: (): string => prefixRoute(ROUTES.Costs),
  endpoint: (endpoint: string): string => `${prefixRoute(ROUTES.Costs)}/endpoint/${encodeURIComponent(endpoint)}`,
  model: (endpoint: string, model: string): string =>
    `${costsUrls.endpoint(endpoint)}/model/${encodeURIComponent(model)}`,
  call: (endpoint: string, model: string, callId: string): string =>
    `${costsUrls.model(endpoint, model)}/call/${encodeURIComponent(callId)}`,
};
