/**
 * Stand-ins for Grafana's core panel plugins (not published to npm) and the registries Grafana's
 * core fills at boot. Scenes' VizPanel does the rest as in Grafana: it applies the field config
 * (units, display names, thresholds, links) with @grafana/data's applyFieldOverrides and wraps the
 * panel in @grafana/ui's PanelChrome. Each stand-in renders what a reader checks, with data-testids.
 */
import React from 'react';
import {
  type DataFrame,
  type Field,
  FieldType,
  type FieldConfigPropertyItem,
  PanelPlugin,
  type PanelProps,
  PluginType,
  dataLinksOverrideProcessor,
  displayNameOverrideProcessor,
  formattedValueToString,
  getFieldDisplayName,
  getFieldDisplayValues,
  identityOverrideProcessor,
  numberOverrideProcessor,
  standardFieldConfigEditorRegistry,
  standardTransformers,
  standardTransformersRegistry,
  stringOverrideProcessor,
  thresholdsOverrideProcessor,
  unitOverrideProcessor,
  valueMappingsOverrideProcessor,
  type ReduceDataOptions,
} from '@grafana/data';
import { useTheme2 } from '@grafana/ui';

const none = () => null;
function option(id: string, process: FieldConfigPropertyItem['process'], defaultValue?: unknown): FieldConfigPropertyItem {
  return { id, path: id, name: id, process, editor: none, override: none, shouldApply: () => true, defaultValue, category: ['Standard options'] } as FieldConfigPropertyItem;
}

/** The standard field options Grafana registers at boot (public/app/core/components/OptionsUI/registry.tsx). */
export function initRegistries(): void {
  standardFieldConfigEditorRegistry.setInit(() => [
    option('unit', unitOverrideProcessor),
    option('min', numberOverrideProcessor),
    option('max', numberOverrideProcessor),
    option('decimals', numberOverrideProcessor),
    option('displayName', displayNameOverrideProcessor),
    option('noValue', stringOverrideProcessor),
    option('links', dataLinksOverrideProcessor),
    option('mappings', valueMappingsOverrideProcessor),
    option('thresholds', thresholdsOverrideProcessor, {
      mode: 'absolute',
      steps: [
        { value: -Infinity, color: 'green' },
        { value: 80, color: 'red' },
      ],
    }),
    option('color', identityOverrideProcessor, { mode: 'thresholds' }),
    option('filterable', identityOverrideProcessor),
  ]);
  standardTransformersRegistry.setInit(() =>
    Object.values(standardTransformers).map((t) => ({ id: t.id, name: t.name, transformation: t, editor: none, description: '' })) as never
  );
}

const cell = (field: Field, i: number) => {
  const v = field.values[i];
  return field.display ? formattedValueToString(field.display(v)) : String(v ?? '');
};

function StatStandIn({ data, fieldConfig, options, replaceVariables, timeZone }: PanelProps<{ reduceOptions: ReduceDataOptions; colorMode?: string }>) {
  const theme = useTheme2();
  const values = getFieldDisplayValues({
    fieldConfig,
    reduceOptions: options.reduceOptions ?? { calcs: ['lastNotNull'], values: false },
    replaceVariables,
    theme,
    data: data.series,
    timeZone,
  });
  return (
    <div style={{ display: 'flex', gap: 16, alignItems: 'center', height: '100%', justifyContent: 'center' }}>
      {values.map((v, i) => (
        <div key={i} style={{ textAlign: 'center' }}>
          {/* Grafana's "auto" text mode names each value once there are several. */}
          {values.length > 1 && <div style={{ fontSize: 12 }}>{v.display.title}</div>}
          <div data-testid="stat-value" data-color={options.colorMode === 'none' ? 'none' : v.display.color} style={{ fontSize: 28, color: options.colorMode === 'none' ? theme.colors.text.primary : v.display.color }}>
            {formattedValueToString(v.display)}
          </div>
        </div>
      ))}
    </div>
  );
}

function TableStandIn({ data }: PanelProps) {
  const frame: DataFrame | undefined = data.series[0];
  if (!frame) {
    return null;
  }
  return (
    <div style={{ overflow: 'auto', height: '100%' }}>
      <table data-testid="table" style={{ borderCollapse: 'collapse', width: '100%', fontSize: 12 }}>
        <thead>
          <tr>
            {frame.fields.map((f) => (
              <th key={f.name} style={{ textAlign: 'left', padding: '2px 6px' }}>
                {getFieldDisplayName(f, frame, data.series)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {Array.from({ length: Math.min(frame.length, 50) }, (_, i) => (
            <tr key={i}>
              {frame.fields.map((f) => {
                const link = f.getLinks?.({ valueRowIndex: i })[0];
                return (
                  <td key={f.name} style={{ padding: '2px 6px' }}>
                    {link ? (
                      <a href={link.href} data-testid="data-link">
                        {cell(f, i)}
                      </a>
                    ) : (
                      cell(f, i)
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const show = (field: Field, v: unknown) => (field.display ? formattedValueToString(field.display(v)) : String(v ?? ''));
function mean(field: Field): number | null {
  const xs = Array.from(field.values as ArrayLike<number | null>).filter((v): v is number => typeof v === 'number');
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

/** Time series, bar chart and pie chart: the series (or categories) by display name, with a sparkline. */
function SeriesStandIn({ data, width, height }: PanelProps) {
  const theme = useTheme2();
  const series = data.series.flatMap((frame) =>
    frame.fields.filter((f) => f.type === FieldType.number).map((f) => ({ name: getFieldDisplayName(f, frame, data.series), field: f }))
  );
  // A bar or pie chart over categories (a string column, no time): one legend entry per category.
  const frame = data.series[0];
  const category = frame?.fields.find((f) => f.type === FieldType.string);
  if (frame && category && !frame.fields.some((f) => f.type === FieldType.time)) {
    return (
      <ul data-testid="legend" style={{ listStyle: 'none', margin: 0, padding: 0, fontSize: 12 }}>
        {Array.from({ length: Math.min(frame.length, 30) }, (_, i) => (
          <li key={i} data-testid="legend-item">
            {String(category.values[i])}: {series.map(({ name, field }) => `${name} ${show(field, field.values[i])}`).join(', ')}
          </li>
        ))}
      </ul>
    );
  }
  const w = Math.max(50, width - 10);
  const h = Math.max(30, height - 24 * Math.min(series.length, 4) - 10);
  return (
    <div>
      <svg width={w} height={h}>
        {series.map(({ field }, k) => {
          const vals = Array.from(field.values as ArrayLike<number | null>).map((v) => v ?? 0);
          const max = Math.max(1e-12, ...vals);
          const pts = vals.map((v, i) => `${(i / Math.max(1, vals.length - 1)) * w},${h - (v / max) * (h - 4)}`).join(' ');
          return <polyline key={k} fill="none" stroke={theme.visualization.getColorByName(['green', 'yellow', 'blue', 'orange', 'red', 'purple'][k % 6]!)} points={pts} />;
        })}
      </svg>
      <ul data-testid="legend" style={{ display: 'flex', flexWrap: 'wrap', gap: 12, listStyle: 'none', margin: 0, padding: 0, fontSize: 12 }}>
        {series.map(({ name, field }, k) => (
          <li key={k} data-testid="legend-item">
            {name}: mean {show(field, mean(field))}, last {show(field, field.values[field.values.length - 1])}
          </li>
        ))}
      </ul>
    </div>
  );
}

function TextStandIn({ options }: PanelProps<{ content?: string }>) {
  return <div>{options.content}</div>;
}

const COMPONENTS: Record<string, React.ComponentType<PanelProps<never>>> = {
  stat: StatStandIn as never,
  table: TableStandIn as never,
  timeseries: SeriesStandIn as never,
  barchart: SeriesStandIn as never,
  piechart: SeriesStandIn as never,
  text: TextStandIn as never,
};

const cache = new Map<string, PanelPlugin>();
export function panelPlugin(id: string): PanelPlugin {
  let plugin = cache.get(id);
  if (!plugin) {
    const component = COMPONENTS[id];
    if (!component) {
      throw new Error(`the shell has no stand-in for panel plugin "${id}"`);
    }
    plugin = new PanelPlugin(component).useFieldConfig();
    plugin.meta = {
      id,
      name: id,
      type: PluginType.panel,
      sort: 0,
      module: `core:plugin/${id}`,
      baseUrl: '',
      info: { author: { name: 'shell' }, description: '', links: [], logos: { small: '', large: '' }, screenshots: [], updated: '', version: '13.1.0' },
    };
    cache.set(id, plugin);
  }
  return plugin;
}
