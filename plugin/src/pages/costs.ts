import {
  EmbeddedScene,
  PanelBuilders,
  SceneAppPage,
  type SceneAppPageLike,
  SceneFlexLayout,
  type SceneRouteMatch,
} from '@grafana/scenes';
import { ROUTES } from '../constants';
import { costsUrls, isCallId, isSafeValue, prefixRoute } from '../utils/utils.routing';
import { CallRecord } from '../scenes/CallRecord';
import { drillVariable, item, pageScene, row, sqlRunner } from '../scenes/common';
import { stat, table, timeseries } from '../scenes/panels';

export type Params = { endpoint?: string; model?: string; tenant?: string; callId?: string };

/** A drill-down whose URL value isSafeValue (or isCallId) refuses: say so instead of querying with it. */
export function invalidPage(url: string, parent: SceneAppPageLike, what: string): SceneAppPage {
  return new SceneAppPage({
    title: `Invalid ${what}`,
    url,
    routePath: '*',
    getParentPage: () => parent,
    getScene: () =>
      new EmbeddedScene({
        body: new SceneFlexLayout({
          children: [item(PanelBuilders.text().setTitle('').setOption('content', `This URL does not name a valid ${what}.`).build(), 80)],
        }),
      }),
  });
}

/**
 * A route parameter, used as react-router hands it over: it decodes each path segment once (and turns
 * the `%2F` it keeps inside a segment into `/`), which undoes encodeSegment. Decoding again would
 * change values and turn a literal `%` into a URIError (a crashed page) for `.../endpoint/a%25`.
 * Grafana's history also runs decodeURI over the path first, which leaves the escapes of `:/?#&=+$,;@`
 * alone and decodes the rest; the two agree for every value but one holding `%`, and isSafeValue
 * refuses those, so they get the "invalid" page.
 */
export function param(match: SceneRouteMatch<Params>, key: keyof Params): string {
  return match.params[key] ?? '';
}

/**
 * One call, as a readable (field, value) record with its ids copyable. Shared by every drill-down
 * that ends at a call (costs and tenants): `url` is where this page lives under its parent.
 */
export function callPage(datasourceUid: string, url: string, callId: string, parent: SceneAppPageLike): SceneAppPage {
  if (!isCallId(callId)) {
    return invalidPage(url, parent, 'call id');
  }
  return new SceneAppPage({
    title: `Call ${callId}`,
    subTitle: 'Tokens, cost, latency, time to first byte, cache status and request id of one call.',
    url,
    routePath: 'call/:callId/*',
    getParentPage: () => parent,
    getScene: () =>
      pageScene(datasourceUid, [item(new CallRecord({ $data: sqlRunner('call_detail') }), 400)], [drillVariable('call_id', callId)]),
  });
}

function modelPage(datasourceUid: string, endpoint: string, match: SceneRouteMatch<Params>, parent: SceneAppPageLike): SceneAppPage {
  const model = param(match, 'model');
  const url = costsUrls.model(endpoint, model);
  if (!isSafeValue(model)) {
    return invalidPage(url, parent, 'model');
  }
  const page: SceneAppPage = new SceneAppPage({
    title: `${endpoint} / ${model}`,
    subTitle: 'The calls, newest first. Open one for its details.',
    url,
    routePath: 'model/:model/*',
    getParentPage: () => parent,
    getScene: () =>
      pageScene(datasourceUid, [item(table('Calls', 'costs_calls', { field: 'call_id', segment: 'call' }), 500)], [
        drillVariable('drill_endpoint', endpoint),
        drillVariable('drill_model', model),
      ]),
    drilldowns: [
      {
        routePath: 'call/:callId/*',
        getPage: (m: SceneRouteMatch<Params>) =>
          callPage(datasourceUid, costsUrls.call(endpoint, model, param(m, 'callId')), param(m, 'callId'), page),
      },
    ],
  });
  return page;
}

function endpointPage(datasourceUid: string, match: SceneRouteMatch<Params>, parent: SceneAppPageLike): SceneAppPage {
  const endpoint = param(match, 'endpoint');
  const url = costsUrls.endpoint(endpoint);
  if (!isSafeValue(endpoint)) {
    return invalidPage(url, parent, 'endpoint');
  }
  const page: SceneAppPage = new SceneAppPage({
    title: endpoint,
    subTitle: 'Cost by model within this endpoint. Open a model for its calls.',
    url,
    routePath: 'endpoint/:endpoint/*',
    getParentPage: () => parent,
    getScene: () =>
      pageScene(datasourceUid, [item(table('Models', 'costs_models_in_endpoint', { field: 'model', segment: 'model' }))], [
        drillVariable('drill_endpoint', endpoint),
      ]),
    drilldowns: [{ routePath: 'model/:model/*', getPage: (m: SceneRouteMatch<Params>) => modelPage(datasourceUid, endpoint, m, page) }],
  });
  return page;
}

/** Costs: by endpoint -> by model within it -> its calls -> one call, each with its own URL and breadcrumb. */
export function costsPage(datasourceUid: string): SceneAppPage {
  const page: SceneAppPage = new SceneAppPage({
    title: 'Costs',
    subTitle: 'Cost by endpoint. Open an endpoint to drill down to models, calls and a single call.',
    url: prefixRoute(ROUTES.Costs),
    routePath: `${ROUTES.Costs}/*`,
    getScene: () =>
      pageScene(datasourceUid, [
        row(item(stat('Total cost', 'stat_total_cost', 'currencyUSD'), 120), item(stat('Calls', 'stat_calls', 'short'), 120)),
        item(timeseries('Cost per day by endpoint', 'costs_daily_by_endpoint', 'currencyUSD')),
        item(table('Endpoints', 'costs_by_endpoint', { field: 'endpoint', segment: 'endpoint' })),
      ]),
    drilldowns: [{ routePath: 'endpoint/:endpoint/*', getPage: (m: SceneRouteMatch<Params>) => endpointPage(datasourceUid, m, page) }],
  });
  return page;
}
