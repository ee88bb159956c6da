import { SceneAppPage } from '@grafana/scenes';
import { ROUTES } from '../constants';
import { prefixRoute } from '../utils/utils.routing';
import { item, pageScene, row } from '../scenes/common';
import { stat, table, timeseries } from '../scenes/panels';

/**
 * Budget: where this month ends. The range is this month so far (`now/M` to `now`, UTC), so the
 * stats read as month to date; the projection is straight-line to the month's end. Budgets come
 * from tenant_names (npm run tenants:load).
 */
export function budgetPage(datasourceUid: string): SceneAppPage {
  return new SceneAppPage({
    title: 'Budget',
    subTitle: 'Month-to-date spend, its straight-line projection to month end, and each tenant against its monthly budget.',
    url: prefixRoute(ROUTES.Budget),
    routePath: `${ROUTES.Budget}/*`,
    getScene: () =>
      pageScene(
        datasourceUid,
        [
          row(
            item(stat('Month to date', 'budget_month_to_date', 'currencyUSD', 'month_to_date_usd'), 120),
            item(stat('Projected month', 'budget_month_to_date', 'currencyUSD', 'projected_month_usd'), 120)
          ),
          item(timeseries('Spend this month, cumulative', 'budget_daily_cumulative', 'currencyUSD')),
          item(table('Tenants against their budgets', 'budget_tenants', { field: 'tenant', segment: 'tenant', base: prefixRoute(ROUTES.Tenants) }), 320),
        ],
        [],
        { from: 'now/M', to: 'now' }
      ),
  });
}
