import { SceneAppPage } from '@grafana/scenes';
import { ROUTES } from '../constants';
import { prefixRoute } from '../utils/utils.routing';
import { item, pageScene, row } from '../scenes/common';
import { stat, table, timeseries } from '../scenes/panels';

/** Performance: latency percentiles, time to first byte, the proxy's own overhead and failure rates. */
export function performancePage(datasourceUid: string): SceneAppPage {
  return new SceneAppPage({
    title: 'Performance',
    subTitle: 'How fast and how healthy: latency p50/p95/p99, time to first byte, proxy overhead (latency − upstream), errors, 429s and client aborts.',
    url: prefixRoute(ROUTES.Performance),
    routePath: `${ROUTES.Performance}/*`,
    getScene: () =>
      pageScene(datasourceUid, [
        row(
          item(stat('Latency p95', 'perf_summary', 'ms', 'latency_p95_ms'), 120),
          item(stat('Time to first byte p95 (streams)', 'perf_summary', 'ms', 'ttfb_p95_ms'), 120),
          item(stat('Proxy overhead p95', 'perf_summary', 'ms', 'overhead_p95_ms'), 120),
          item(stat('Error rate', 'perf_summary', 'percentunit', 'error_rate', 'lowerIsBetter'), 120),
          item(stat('Rate limited (429)', 'perf_summary', 'percentunit', 'rate_limited_rate', 'lowerIsBetter'), 120),
          item(stat('Client aborts', 'perf_summary', 'percentunit', 'client_abort_rate', 'lowerIsBetter'), 120)
        ),
        row(
          item(timeseries('Latency percentiles', 'perf_latency', 'ms')),
          item(timeseries('Time to first byte and proxy overhead', 'perf_ttfb_overhead', 'ms'))
        ),
        item(timeseries('Errors, rate limits and client aborts (share of calls)', 'perf_error_rates', 'percentunit')),
        item(table('By endpoint and model', 'perf_by_endpoint_model'), 360),
      ]),
  });
}
