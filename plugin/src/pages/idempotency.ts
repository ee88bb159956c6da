import { SceneAppPage } from '@grafana/scenes';
import { ROUTES } from '../constants';
import { prefixRoute } from '../utils/utils.routing';
import { item, pageScene, row } from '../scenes/common';
import { stat, table, timeseries } from '../scenes/panels';

/** Idempotency: stored responses, replays and coalesced duplicates. */
export function idempotencyPage(datasourceUid: string): SceneAppPage {
  return new SceneAppPage({
    title: 'Idempotency',
    subTitle: 'Stored responses, replays of them and coalesced duplicate requests.',
    url: prefixRoute(ROUTES.Idempotency),
    routePath: `${ROUTES.Idempotency}/*`,
    getScene: () =>
      pageScene(datasourceUid, [
        row(
          item(stat('Stored responses', 'stored_responses_total', 'short'), 120),
          item(stat('Cost saved', 'stat_cost_saved', 'currencyUSD'), 120)
        ),
        row(
          item(timeseries('Stored responses per day', 'stored_responses_daily', 'short')),
          item(timeseries('Replays and coalesced requests per day', 'idem_replays_daily', 'short'))
        ),
        item(table('Replays by endpoint', 'idem_replays_by_endpoint')),
      ]),
  });
}
