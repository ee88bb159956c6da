import { PanelBuilders, type VizPanel } from '@grafana/scenes';
import { ThresholdsMode, type ThresholdsConfig } from '@grafana/data';
import { BigValueColorMode } from '@grafana/schema';
import type { QueryName } from '../queries';
import { sqlRunner } from './common';
import { fieldName, humanize } from './fields';

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * What a stat's colour says. Grafana's default (red from 80) would paint any count or cost past
 * 80 red; here a value is only coloured when the colour means something:
 * - `neutral`: counts and costs, never alarming;
 * - `higherIsBetter`: a hit ratio, red under 10 %, amber under 30 %, green above;
 * - `lowerIsBetter`: an error rate, green under 1 %, amber under 5 %, red above.
 */
export type Meaning = 'neutral' | 'higherIsBetter' | 'lowerIsBetter';

const THRESHOLDS: Record<Meaning, ThresholdsConfig> = {
  neutral: { mode: ThresholdsMode.Absolute, steps: [{ value: -Infinity, color: 'text' }] },
  higherIsBetter: {
    mode: ThresholdsMode.Absolute,
    steps: [
      { value: -Infinity, color: 'red' },
      { value: 0.1, color: 'orange' },
      { value: 0.3, color: 'green' },
    ],
  },
  lowerIsBetter: {
    mode: ThresholdsMode.Absolute,
    steps: [
      { value: -Infinity, color: 'green' },
      { value: 0.01, color: 'orange' },
      { value: 0.05, color: 'red' },
    ],
  },
};

/** A stat; `field` (a column name) limits it to that column (a query may return counts next to a ratio). */
export function stat(title: string, query: QueryName, unit: string, field?: string, meaning: Meaning = 'neutral'): VizPanel {
  const builder = PanelBuilders.stat()
    .setTitle(title)
    .setUnit(unit)
    .setThresholds(THRESHOLDS[meaning])
    .setOption('colorMode', meaning === 'neutral' ? BigValueColorMode.None : BigValueColorMode.Value)
    .setNoValue('No calls')
    .setOverrides(humanize)
    .setData(sqlRunner(query));
  if (field) {
    // Grafana matches this pattern against the field's display name, which humanize has set.
    builder.setOption('reduceOptions', { values: false, calcs: ['lastNotNull'], fields: `/^${escapeRegex(fieldName(field))}$/` });
  }
  return builder.build();
}

/**
 * A time series; `displayName` names the series from a label column (e.g.
 * `${__field.labels.endpoint}`): the value column then keeps no override, which would name every
 * series alike.
 */
export function timeseries(title: string, query: QueryName, unit: string, displayName?: string): VizPanel {
  const builder = PanelBuilders.timeseries().setTitle(title).setUnit(unit).setData(sqlRunner(query, 'time_series'));
  if (displayName) {
    builder.setDisplayName(displayName);
  } else {
    builder.setOverrides(humanize);
  }
  return builder.build();
}

export function bars(title: string, query: QueryName, unit: string): VizPanel {
  return PanelBuilders.barchart().setTitle(title).setUnit(unit).setData(sqlRunner(query)).setOverrides(humanize).build();
}

export function pie(title: string, query: QueryName, unit: string): VizPanel {
  return PanelBuilders.piechart()
    .setTitle(title)
    .setUnit(unit)
    .setOption('reduceOptions', { values: true, calcs: [] })
    .setData(sqlRunner(query))
    .setOverrides(humanize)
    .build();
}

/**
 * A table; with `link`, the cells of that field open the drill-down below the current URL, and
 * `${__url.params}` carries the time range and variables along.
 *
 * Grafana fills a data link with the `uriencode` format unless the link names another:
 * - `${__url.path:raw}`: the current path is already a URL path; `uriencode` would encode its `%`
 *   again (`%3A` -> `%253A`) and the next page would get a different value.
 * - `${__value.text:percentencode}`: the cell as one path segment (`:`, `/`, `?`, `#` and the rest
 *   encoded), the same encoding as the URLs the pages build (encodeSegment in utils.routing).
 *
 * `base` replaces `${__url.path:raw}` when the link leaves the current page's subtree (a tenant's
 * call opens under the Tenants page's own URL, not below the table's).
 */
export function table(title: string, query: QueryName, link?: { field: string; segment: string; base?: string }): VizPanel {
  const builder = PanelBuilders.table().setTitle(title).setData(sqlRunner(query));
  builder.setOverrides((b) => {
    humanize(b);
    if (link) {
      b.matchFieldsWithName(link.field).overrideLinks([
        {
          title: `Open ${link.field}`,
          url: `${link.base ?? '${__url.path:raw}'}/${link.segment}/\${__value.text:percentencode}\${__url.params}`,
        },
      ]);
    }
  });
  return builder.build();
}
