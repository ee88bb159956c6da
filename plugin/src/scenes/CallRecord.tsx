import React from 'react';
import { css } from '@emotion/css';
import { type DataFrame, type GrafanaTheme2, getDisplayProcessor, LoadingState } from '@grafana/data';
import { SceneObjectBase, type SceneComponentProps, type SceneObjectState, type SceneDataProvider, sceneGraph } from '@grafana/scenes';
import { Alert, ClipboardButton, LoadingPlaceholder, useStyles2, useTheme2 } from '@grafana/ui';
import { testIds } from '../components/testIds';
import { fieldName, FIELDS } from './fields';

interface CallRecordState extends SceneObjectState {
  $data: SceneDataProvider;
}

/** Columns whose value an analyst pastes elsewhere (a support ticket, OpenAI's dashboard). */
const COPYABLE = new Set(['request_id', 'upstream_request_id', 'call_id']);

/** One row of `frame` as (field, value) pairs, each value formatted with its unit. */
export function recordOf(frame: DataFrame, theme: GrafanaTheme2): Array<{ column: string; label: string; text: string; raw: string }> {
  return frame.fields.map((field) => {
    const raw = field.values[0];
    const unit = FIELDS[field.name]?.unit;
    const display = getDisplayProcessor({ field: { ...field, config: { ...field.config, ...(unit ? { unit } : {}) } }, theme })(raw);
    const text = raw === null || raw === undefined ? '—' : `${display.prefix ?? ''}${display.text}${display.suffix ?? ''}`;
    return { column: field.name, label: fieldName(field.name), text, raw: raw === null || raw === undefined ? '' : String(raw) };
  });
}

/**
 * One call as a readable record: a (field, value) list with units, the ids copyable. A stat panel
 * over the row titled each value with every other string column and shrank the text to nothing.
 */
export class CallRecord extends SceneObjectBase<CallRecordState> {
  static Component = CallRecordRenderer;
}

function CallRecordRenderer({ model }: SceneComponentProps<CallRecord>) {
  const { data } = sceneGraph.getData(model).useState();
  const theme = useTheme2();
  const styles = useStyles2(getStyles);
  if (!data || data.state === LoadingState.Loading || data.state === LoadingState.NotStarted) {
    return <LoadingPlaceholder text="Loading call" />;
  }
  if (data.errors?.length) {
    return <Alert title="The call could not be read">{data.errors.map((e) => e.message).join('; ')}</Alert>;
  }
  const frame = data.series[0];
  if (!frame || frame.length === 0) {
    return <Alert title="No such call" severity="info">The call log has no call with this id.</Alert>;
  }
  return (
    <table className={styles.table} data-testid={testIds.call.record}>
      <tbody>
        {recordOf(frame, theme).map(({ column, label, text, raw }) => (
          <tr key={column}>
            <th scope="row">{label}</th>
            <td data-field={column}>
              <span className={styles.value}>{text}</span>
              {COPYABLE.has(column) && raw !== '' && (
                <ClipboardButton icon="copy" size="sm" variant="secondary" fill="text" getText={() => raw} aria-label={`Copy ${label}`}>
                  Copy
                </ClipboardButton>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  table: css({
    width: '100%',
    maxWidth: 900,
    borderCollapse: 'collapse',
    th: { textAlign: 'left', fontWeight: theme.typography.fontWeightMedium, color: theme.colors.text.secondary, width: 240 },
    'th, td': { padding: theme.spacing(0.75, 1), borderBottom: `1px solid ${theme.colors.border.weak}`, verticalAlign: 'middle' },
  }),
  value: css({ fontFamily: theme.typography.fontFamilyMonospace, marginRight: theme.spacing(1), wordBreak: 'break-all' }),
});
