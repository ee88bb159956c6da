import { SceneAppPage } from '@grafana/scenes';
import { ROUTES } from '../constants';
import { prefixRoute } from '../utils/utils.routing';
import { item, pageScene, row } from '../scenes/common';
import { bars, pie, stat, timeseries } from '../scenes/panels';

/** Stat row, then the design note's five panels (their queries as written: panels 2 to 5 ignore the filters). */
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
          item(stat('Cache hit ratio', 'stat_hit_ratio', 'percentunit'), 120),
          item(stat('Cost saved (cache, idempotency)', 'stat_cost_saved', 'currencyUSD'), 120)
        ),
        row(
          // The design note's legend {{endpoint}}: the series are value columns labelled endpoint=...
          item(timeseries('Daily OpenAI cost by endpoint', 'panel1_daily_cost_by_endpoint', 'currencyUSD', '${__field.labels.endpoint}')),
          item(bars('Persona cache growth (new entries per day)', 'panel2_persona_cache_growth', 'short'))
        ),
        row(
          item(timeseries('Idempotent requests (stored per day)', 'panel3_idempotent_requests', 'short')),
          item(pie('Model cost breakdown (all time)', 'panel4_model_cost_breakdown', 'currencyUSD'))
        ),
        row(
          item(timeseries('Cache hit ratio (exact, per day)', 'hit_ratio', 'percentunit')),
          item(stat('Persona cache hit ratio (design note approximation)', 'panel5_persona_hit_ratio_approx', 'percentunit', 'cache_hit_ratio'))
        ),
      ]),
  });
}
