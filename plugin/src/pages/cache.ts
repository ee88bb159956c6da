import { SceneAppPage } from '@grafana/scenes';
import { ROUTES } from '../constants';
import { prefixRoute } from '../utils/utils.routing';
import { item, pageScene, row } from '../scenes/common';
import { bars, stat, table, timeseries } from '../scenes/panels';

/** Cache: the persona cache (size, growth, age, reuse) on one tab, hit ratio and savings on the other. */
export function cachePage(datasourceUid: string): SceneAppPage {
  const url = prefixRoute(ROUTES.Cache);
  const personaScene = () =>
    pageScene(datasourceUid, [
      row(
        item(stat('Persona cache entries created', 'persona_cache_entries', 'short'), 120),
        item(stat('Persona requests served from cache (approximate)', 'persona_hit_ratio', 'percentunit', 'cache_hit_ratio', 'higherIsBetter'), 120)
      ),
      row(
        item(bars('New entries per day', 'persona_cache_daily', 'short')),
        item(bars('Age distribution', 'persona_cache_age_buckets', 'short'))
      ),
      item(table('Most reused entries (persona and response cache)', 'cache_top_entries')),
    ]);
  const ratioScene = () =>
    pageScene(datasourceUid, [
      row(
        item(stat('Cache hit ratio', 'stat_hit_ratio', 'percentunit', undefined, 'higherIsBetter'), 120),
        item(stat('Cost saved', 'stat_cost_saved', 'currencyUSD'), 120)
      ),
      item(timeseries('Hit ratio per day (hits / proxied calls)', 'hit_ratio', 'percentunit')),
      item(timeseries('Cost saved per day', 'cost_saved_daily', 'currencyUSD')),
    ]);
  return new SceneAppPage({
    title: 'Cache',
    subTitle: 'Persona cache size, growth, age and reuse; exact hit ratio and what it saved.',
    url,
    routePath: `${ROUTES.Cache}/*`,
    getScene: personaScene,
    tabs: [
      new SceneAppPage({ title: 'Persona cache', url, routePath: '/', getScene: personaScene }),
      new SceneAppPage({ title: 'Hit ratio and savings', url: `${url}/hit-ratio`, routePath: 'hit-ratio', getScene: ratioScene }),
    ],
  });
}
