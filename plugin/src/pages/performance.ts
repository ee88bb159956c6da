import { SceneAppPage, type VizPanel } from '@grafana/scenes';
import { ROUTES } from '../constants';
import { prefixRoute } from '../utils/utils.routing';
import { item, pageScene, row } from '../scenes/common';
import { stat, table, timeseries } from '../scenes/panels';

/**
 * Percentiles are read from log-scale latency histograms kept with the rollups (migration 021), so a
 * reader is told how close they are; rates are exact counts.
 */
const PRECISION = 'Percentiles from latency histograms: within 4.4 % of the exact value (exact below 16 ms).';
const TIME_POINTS = 'One point per hour for ranges up to 7 days, per UTC day beyond.';

function described(panel: VizPanel, description: string): VizPanel {
  panel.setState({ description });
  return panel;
}

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
          item(described(stat('Latency p95', 'perf_summary', 'ms', 'latency_p95_ms'), PRECISION), 120),
          item(described(stat('Time to first byte p95 (streams)', 'perf_summary', 'ms', 'ttfb_p95_ms'), PRECISION), 120),
          item(described(stat('Proxy overhead p95', 'perf_summary', 'ms', 'overhead_p95_ms'), PRECISION), 120),
          item(stat('Error rate', 'perf_summary', 'percentunit', 'error_rate', 'lowerIsBetter'), 120),
          item(stat('Rate limited (429)', 'perf_summary', 'percentunit', 'rate_limited_rate', 'lowerIsBetter'), 120),
          item(stat('Client aborts', 'perf_summary', 'percentunit', 'client_abort_rate', 'lowerIsBetter'), 120)
        ),
        row(
          item(described(timeseries('Latency percentiles', 'perf_latency', 'ms'), `${PRECISION} ${TIME_POINTS}`)),
          item(described(timeseries('Time to first byte and proxy overhead', 'perf_ttfb_overhead', 'ms'), `${PRECISION} ${TIME_POINTS}`))
        ),
        item(described(timeseries('Errors, rate limits and client aborts (share of calls)', 'perf_error_rates', 'percentunit'), TIME_POINTS)),
        item(described(table('By endpoint and model', 'perf_by_endpoint_model'), PRECISION), 360),
      ]),
  });
}
