import { PLUGIN_BASE_URL, ROUTES } from '../constants';

// Prefixes the route with the base URL of the plugin
export function prefixRoute(route: string): string {
  return `${PLUGIN_BASE_URL}/${route}`;
}

/**
 * One URL path segment, encoded exactly as Grafana's `percentencode` variable format does
 * (encodeURIComponent, then `!'()*` too). The table data links write `${__value.text:percentencode}`,
 * so a page reached by clicking a cell and the same page reached by a breadcrumb or a built URL have
 * one and the same URL (Scenes caches drill-down pages by it). `/` becomes `%2F`, so a model such as
 * `meta-llama/Llama-3.1-8B` stays one segment: react-router matches on the decoded path but keeps
 * `%2F` inside a segment and only turns it into `/` in the param.
 */
export function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Drill-down values reach SQL as `'${drill_model}'`: Grafana's PostgreSQL datasource doubles `'` in a
 * single value, so quotes, spaces, `/`, `:` and any other printable text are safe there. Refused:
 * - control characters (PostgreSQL refuses NUL in text; none belongs in a name);
 * - `$`: Grafana's backend expands `$__macro(...)` anywhere in the SQL, inside string literals too,
 *   and an expansion such as `$__timeFilter(x)` brings its own quotes, which would end the literal;
 * - `\`: with `standard_conforming_strings` off (a server setting) it escapes the next quote;
 * - `%`: Grafana's history decodes the path (decodeURI) before react-router decodes each segment, so
 *   a `%` in a value would be decoded twice and the page would query for another value;
 * - `.` and `..` alone: the browser resolves them as path steps, so no URL can carry them.
 */
const SAFE_VALUE = /^(?!\.{1,2}$)[^\u0000-\u001f\u007f-\u009f$\\%]{1,256}$/;
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
  endpoint: (endpoint: string): string => `${prefixRoute(ROUTES.Costs)}/endpoint/${encodeSegment(endpoint)}`,
  model: (endpoint: string, model: string): string => `${costsUrls.endpoint(endpoint)}/model/${encodeSegment(model)}`,
  call: (endpoint: string, model: string, callId: string): string =>
    `${costsUrls.model(endpoint, model)}/call/${encodeSegment(callId)}`,
};
