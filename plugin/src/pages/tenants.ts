import { SceneAppPage, type SceneAppPageLike, type SceneRouteMatch } from '@grafana/scenes';
import { ROUTES } from '../constants';
import { encodeSegment, isSafeValue, prefixRoute } from '../utils/utils.routing';
import { attributionVariables, drillVariable, item, pageScene, row } from '../scenes/common';
import { bars, table, timeseries } from '../scenes/panels';
import { callPage, invalidPage, param, type Params } from './costs';

export const tenantsUrls = {
  root: (): string => prefixRoute(ROUTES.Tenants),
  tenant: (tenant: string): string => `${prefixRoute(ROUTES.Tenants)}/tenant/${encodeSegment(tenant)}`,
  call: (tenant: string, callId: string): string => `${tenantsUrls.tenant(tenant)}/call/${encodeSegment(callId)}`,
};

/** One tenant: its calls, newest first; a call opens the shared call page. */
function tenantPage(datasourceUid: string, match: SceneRouteMatch<Params>, parent: SceneAppPageLike): SceneAppPage {
  const tenant = param(match, 'tenant');
  const url = tenantsUrls.tenant(tenant);
  if (!isSafeValue(tenant)) {
    return invalidPage(url, parent, 'tenant');
  }
  const page: SceneAppPage = new SceneAppPage({
    title: `Tenant ${tenant}`,
    subTitle: 'Its calls, newest first, with the app user and tags they carried. Open one for its details.',
    url,
    routePath: 'tenant/:tenant/*',
    getParentPage: () => parent,
    getScene: () =>
      pageScene(datasourceUid, [item(table('Calls', 'tenants_calls', { field: 'call_id', segment: 'call' }), 500)], [
        ...attributionVariables(),
        drillVariable('drill_tenant', tenant),
      ]),
    drilldowns: [
      {
        routePath: 'call/:callId/*',
        getPage: (m: SceneRouteMatch<Params>) => callPage(datasourceUid, tenantsUrls.call(tenant, param(m, 'callId')), param(m, 'callId'), page),
      },
    ],
  });
  return page;
}

/** Tenants: who spends (named from tenant_names), their trend, what caching saved them, who and what inside them. */
export function tenantsPage(datasourceUid: string): SceneAppPage {
  const page: SceneAppPage = new SceneAppPage({
    title: 'Tenants',
    subTitle: 'Who spends: tenants by cost, their daily trend and cache savings; app users and tags inside them. Open a tenant for its calls.',
    url: tenantsUrls.root(),
    routePath: `${ROUTES.Tenants}/*`,
    getScene: () =>
      pageScene(
        datasourceUid,
        [
          item(table('Top spenders', 'tenants_top_spenders', { field: 'tenant', segment: 'tenant' }), 320),
          row(
            item(timeseries('Cost per day, ten biggest spenders', 'tenants_cost_daily', 'currencyUSD')),
            item(bars('Saved by caching and idempotency per tenant', 'tenants_savings', 'currencyUSD'))
          ),
          row(item(table('Spend by app user', 'tenants_app_users')), item(table('Spend by tag', 'tenants_tags'))),
        ],
        attributionVariables()
      ),
    drilldowns: [{ routePath: 'tenant/:tenant/*', getPage: (m: SceneRouteMatch<Params>) => tenantPage(datasourceUid, m, page) }],
  });
  return page;
}
