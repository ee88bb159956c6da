import { SceneAppPage } from '@grafana/scenes';
import { ROUTES } from '../constants';
import { prefixRoute } from '../utils/utils.routing';
import { item, pageScene, row } from '../scenes/common';
import { bars, pie, stat, timeseries } from '../scenes/panels';

/** Stat row, then the design note's five panels, on the rollups and with the filter bar (sql/queries). */
export function overviewPage(datasourceUid: string): SceneAppPage {
  return new SceneAppPage({
    title: 'Overview',
    subTitle: 'What OpenAI costs, and what caching and idempotency save. Days are UTC days.',
    url: prefixRoute(ROUTES.Overview),
    routePath: `${ROUTES.Overview}/*`,
    getScene: () =>
      pageScene(datasourceUid, [
        row(
          item(stat('Total cost', 'stat_total_cost', 'currencyUSD'), 120),
          item(stat('Calls', 'stat_calls', 'short'), 120),
          item(stat('Cache hit ratio', 'stat_hit_ratio', 'percentunit', undefined, 'higherIsBetter'), 120),
          item(stat('Cost saved (cache, idempotency)', 'stat_cost_saved', 'currencyUSD'), 120)
        ),
        row(
          item(timeseries('Daily OpenAI cost by endpoint', 'costs_daily_by_endpoint', 'currencyUSD')),
          item(bars('Persona cache growth (new entries per day)', 'persona_cache_daily', 'short'))
        ),
        row(
          item(timeseries('Idempotent requests (stored per day)', 'stored_responses_daily', 'short')),
          item(pie('Model cost breakdown', 'cost_by_model', 'currencyUSD'))
        ),
        row(
          item(timeseries('Cache hit ratio (exact, per day)', 'hit_ratio', 'percentunit')),
          item(stat('Persona requests served from cache (approximate)', 'persona_hit_ratio', 'percentunit', 'cache_hit_ratio', 'higherIsBetter'))
        ),
      ]),
  });
}
