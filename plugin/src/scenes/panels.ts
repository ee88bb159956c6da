import { PanelBuilders, type VizPanel } from '@grafana/scenes';
import type { QueryName } from '../queries';
import { sqlRunner } from './common';

/** A stat; `field` limits it to one column (a query may return counts next to a ratio). */
export function stat(title: string, query: QueryName, unit: string, field?: string): VizPanel {
  const builder = PanelBuilders.stat().setTitle(title).setUnit(unit).setData(sqlRunner(query));
  if (field) {
    builder.setOption('reduceOptions', { values: false, calcs: ['lastNotNull'], fields: `/^${field}$/` });
  }
  return builder.build();
}

/** A time series; `displayName` names the series, e.g. `${__field.labels.endpoint}` for a label column. */
export function timeseries(title: string, query: QueryName, unit: string, displayName?: string): VizPanel {
  const builder = PanelBuilders.timeseries().setTitle(title).setUnit(unit).setData(sqlRunner(query, 'time_series'));
  if (displayName) {
    builder.setDisplayName(displayName);
  }
  return builder.build();
}

export function bars(title: string, query: QueryName, unit: string): VizPanel {
  return PanelBuilders.barchart().setTitle(title).setUnit(unit).setData(sqlRunner(query)).build();
}

export function pie(title: string, query: QueryName, unit: string): VizPanel {
  return PanelBuilders.piechart()
    .setTitle(title)
    .setUnit(unit)
    .setOption('reduceOptions', { values: true, calcs: [] })
    .setData(sqlRunner(query))
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
 */
export function table(title: string, query: QueryName, link?: { field: string; segment: string }): VizPanel {
  const builder = PanelBuilders.table().setTitle(title).setData(sqlRunner(query));
  if (link) {
    builder.setOverrides((b) =>
      b.matchFieldsWithName(link.field).overrideLinks([
        { title: `Open ${link.field}`, url: `\${__url.path:raw}/${link.segment}/\${__value.text:percentencode}\${__url.params}` },
      ])
    );
  }
  return builder.build();
}
